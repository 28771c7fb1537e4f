"""The knowledge base's pure rules: how a query is read, how a typo is corrected, what a link may be."""

from __future__ import annotations

import pytest

from rapport.kb import model
from rapport.kb.markdown import plain_text, render_markdown, safe_link
from rapport.kb.model import Candidate, Draft, Query, parse_query


def test_a_query_is_words_phrases_exclusions_and_a_prefix() -> None:
    assert parse_query('How do I get a "refund for" my crad -fee refun', typing=True) == Query(
        ("get", "crad"), (("refund", "for"),), ("fee",), "refun"
    )
    assert parse_query("refun ", typing=True).prefix is None  # a space ends the word
    assert parse_query("refun").terms == ("refun",)  # a submitted search has no prefix


@pytest.mark.parametrize("text", [":", '"', "*", "-", ".", "()", "\x00", "NEAR(a b)", "a:b", "^", "--", '""'])
def test_syntax_characters_only_separate_words(text: str) -> None:
    query = parse_query(text, typing=True)
    assert all(w.isalnum() for w in (*query.terms, *query.excluded, *(w for p in query.phrases for w in p)))


def test_words_are_folded_and_bounded() -> None:
    assert model.words("Ｃａｒｄ ÇA_va") == ["card", "ça", "va"]
    assert len(parse_query(" ".join(f"word{i}" for i in range(40))).terms) == model.MAX_TERMS


@pytest.mark.parametrize(
    ("a", "b", "d"), [("card", "card", 0), ("crad", "card", 1), ("recieve", "receive", 1), ("kitten", "sitting", 3)]
)
def test_distance_counts_transpositions_as_one(a: str, b: str, d: int) -> None:
    assert model.distance(a, b) == d


def test_corrections_prefer_fewer_edits_then_more_use_then_spelling() -> None:
    assert model.best_correction("crad", [Candidate("card", 5), Candidate("cram", 1)]) == "card"
    assert model.best_correction("carx", [Candidate("card", 5), Candidate("cart", 9)]) == "cart"
    assert model.best_correction("carx", [Candidate("card", 5), Candidate("cart", 5)]) == "card"
    assert model.best_correction("recieve", [Candidate("received", 1)]) == "received"  # an ending
    assert model.best_correction("fee", [Candidate("fees", 5)]) is None  # too short to correct
    assert model.best_correction("crad", [Candidate("bread", 5)]) is None  # too far


def test_variants_hold_every_spelling_one_edit_away() -> None:
    assert {"card", "crab", "cad", "crads", "received"} & model.variants("crad") == {"card", "crab", "cad", "crads"}
    assert "received" in model.variants("recieve")


def test_drafts_are_tidied_or_refused() -> None:
    tidy = model.check_draft(Draft("  Set   up ", known_questions=("a", " a ", ""), catalogue_items=(" x ",)))
    assert (tidy.title, tidy.known_questions, tidy.catalogue_items) == ("Set up", ("a",), ("x",))
    for bad, code in ((Draft(" "), "invalid_title"), (Draft("t", locale="x"), "invalid_locale")):
        with pytest.raises(model.ArticleError) as refused:
            model.check_draft(bad)
        assert refused.value.code == code
    assert model.slug_for("Ça coûte combien ?") == "ca-coute-combien"


def test_status_changes() -> None:
    assert model.next_status("draft", "publish") == "published"
    with pytest.raises(model.ArticleError):
        model.next_status("archived", "archive")


@pytest.mark.parametrize(
    ("url", "safe"),
    [("https://a.example", True), ("mailto:x@y.z", True), ("/portal/help", True), ("#top", True),
     ("javascript:alert(1)", False), ("JaVaScRiPt:x", False), ("java\tscript:x", False), (" javascript:x", False),
     ("data:text/html,x", False), ("vbscript:x", False), ("//evil.example", False), ("file:///etc/passwd", False)],
)  # fmt: skip
def test_links_go_only_to_the_web_mail_or_this_site(url: str, safe: bool) -> None:
    assert safe_link(url) is safe


def test_markdown_shows_html_as_text() -> None:
    html = render_markdown("**bold** <script>x</script> [a](javascript:x)")
    assert "<strong>bold</strong>" in html and "&lt;script&gt;" in html and "href" not in html
    assert plain_text("# Title\n\nSome **bold** text.") == "Title\nSome bold text."


def test_a_long_question_keeps_its_rarest_words_in_its_own_order() -> None:
    from rapport.kb.index import rarest

    clauses = tuple(((w,),) for w in ("my", "card", "payment", "was", "declined", "abroad", "twice", "today"))
    clauses += ((("refund",), ("money", "back")),)  # a synonym group counts as its most used member
    counts = {"card": 900, "payment": 400, "declined": 12, "abroad": 30, "twice": 25, "today": 80, "refund": 5}
    counts |= {"money": 700, "back": 50}
    kept = rarest(clauses, counts, 4)
    assert kept == (clauses[0], clauses[3], clauses[4], clauses[6])  # unknown "my", "was" (0); declined; twice
    assert rarest(clauses, counts, 6) == (clauses[0], clauses[3], clauses[4], clauses[5], clauses[6], clauses[7])
    assert rarest(clauses, {}, 20) == clauses
