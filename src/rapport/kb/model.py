"""Help articles and what a search asks, as plain rules: what an article may hold, how a query is
read (words, phrases, exclusions, a word still being typed), and how an unknown word is corrected
against the index's own vocabulary. Pure: the stores run what is decided here, so SQLite and
PostgreSQL read a query the same way."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapport.kernel.rules import RuleError

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"
STATUSES = (DRAFT, PUBLISHED, ARCHIVED)

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_QUESTIONS = 500
MAX_QUESTION = 500
MAX_ITEMS = 100
MAX_ITEM = 100
MAX_QUERY = 200
MAX_CATEGORY = 64
SLUG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
MAX_SLUG = 120
LOCALE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
CATEGORY = re.compile(r"[\w][\w .&/-]*")

# PostgreSQL's text search configuration for an article's language (its locale's first part).
# SQLite's porter tokenizer stems English only; other languages are matched unstemmed there.
LANGUAGES = {
    "da": "danish", "de": "german", "en": "english", "es": "spanish", "fi": "finnish", "fr": "french",
    "hu": "hungarian", "it": "italian", "nl": "dutch", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sv": "swedish", "tr": "turkish",
}  # fmt: skip

# PostgreSQL's English stop words. Both stores drop them from a query's words (not from phrases), so
# "my" neither matches nor misses on one store and not the other.
STOP_WORDS = frozenset(
    re.split(
        r"\s+",
        """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if or
    because as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where
    why how all any both each few more most other some such no nor not only own same so than too very s
    t can will just don should now""",
    )
)

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'"([^"]*)"?|(-?)([^\s"]+)')
MIN_CORRECTED = 4  # shorter words are too often right as typed ("fee", "atm", "pin")
MAX_WORD = 40  # longer words are not in the vocabulary, so are never corrected
MAX_TERMS = 16  # words a query may search for; the rest are ignored (a pasted paragraph stays fast)


def language(locale: str) -> str:
    return LANGUAGES.get(locale.split("-")[0].lower(), "simple")


def fold(text: str) -> str:
    """Text as both stores compare it: Unicode compatibility forms, case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    """The words of a text: runs of letters and digits, folded. Everything else separates."""
    return _WORD.findall(fold(text))


def vocabulary(*texts: str) -> set[str]:
    """The words of an article that typos are corrected to: not numbers, not stop words, not huge."""
    return {
        w for text in texts for w in words(text) if 2 <= len(w) <= MAX_WORD and not w.isdigit() and w not in STOP_WORDS
    }


@dataclass(frozen=True)
class Query:
    """What a search asks: optional words (more matched ranks higher), required phrases, excluded
    words, and the word being typed (matched as a prefix)."""

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()
    prefix: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases or self.prefix)

    def text(self) -> str:
        parts = [*self.terms, *(f'"{" ".join(p)}"' for p in self.phrases), *(f"-{w}" for w in self.excluded)]
        if self.prefix:
            parts.append(f"{self.prefix}…")
        return " ".join(parts)


def parse_query(text: str, typing: bool = False) -> Query:
    """Read a query as people type it. `"..."` is a phrase, `-word` excludes a word, and any other
    character that a search syntax would give a meaning (`:`, `*`, `.`, `(`, `^`) only separates
    words: nothing typed can be an operator of either store's query language. While `typing`, the
    last word matches as a prefix unless a space follows it."""
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    last_plain = False
    for match in _TOKEN.finditer(text):
        quoted, minus, plain = match.groups()
        last_plain = quoted is None and not minus and bool(words(plain))
        if quoted is not None:
            phrase = tuple(words(quoted))
            if len(phrase) > 1:
                phrases.append(phrase)
            elif phrase:
                terms.append(phrase[0])
        elif minus:
            excluded += words(plain)
        else:
            terms += words(plain)
    prefix = None
    if typing and last_plain and text[-1:].isalnum():
        prefix = terms.pop()
        if len(prefix) < 2:  # one letter would match most of the index
            prefix = None
    kept = _dedupe(t for t in terms if t not in STOP_WORDS and (len(t) > 1 or t.isdigit()))
    return Query(
        tuple(kept[:MAX_TERMS]),
        tuple(p[:MAX_TERMS] for p in phrases[:4]),
        tuple(_dedupe(excluded)[:MAX_TERMS]),
        prefix,
    )


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def normalized(query: Query) -> str:
    """A query as the content-gap report groups it: its words in order, folded."""
    return " ".join([*query.terms, *(" ".join(p) for p in query.phrases), *([query.prefix] if query.prefix else [])])


# --- typo tolerance -----------------------------------------------------------------------------

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def edits1(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away (Norvig's), over the
    Latin letters, digits and the word's own letters."""
    letters = set(ALPHABET) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    inserts = {a + c + b for a, b in splits for c in letters}
    return (deletes | transposes | replaces | inserts) - {word}


def trigrams(word: str) -> list[str]:
    return sorted({word[i : i + 3] for i in range(len(word) - 2)})


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and transpositions."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def allowed_distance(word: str) -> int:
    if not MIN_CORRECTED <= len(word) <= MAX_WORD:
        return 0
    return 1 if len(word) < 8 else 2


# Endings a misspelt word may carry or lack: "recieve" is corrected to "received" when only that
# form is in the articles (the stores' stemmers then match every form of it).
SUFFIXES = ("s", "d", "es", "ed", "er", "ing", "ly")


@dataclass(frozen=True)
class Spellings:
    """What a word may have been meant as: `exact` spellings (one edit away, or its stem without an
    ending and one edit from that stem), and `bases` that an ending may follow (the word and its
    one-edit neighbours: "recieve" + "d"). Kept apart so a vocabulary can be asked "which words are
    a base plus an ending" without spelling out seven endings for every base."""

    word: str
    exact: frozenset[str]
    bases: frozenset[str]

    def all(self) -> set[str]:
        found = set(self.exact) | {b + s for b in self.bases for s in SUFFIXES}
        found.discard(self.word)
        return found


def spellings(word: str) -> Spellings:
    near = edits1(word)
    exact = set(near)
    for s in SUFFIXES:
        if word.endswith(s) and len(word) - len(s) >= MIN_CORRECTED:
            exact |= edits1(word[: -len(s)]) | {word[: -len(s)]}
    exact.discard(word)
    return Spellings(word, frozenset(exact), frozenset(near | {word}))


def variants(word: str) -> set[str]:
    """The spellings a word may have been meant as: one edit away, with or without an ending."""
    return spellings(word).all()


def ending_stems(term: str) -> list[str]:
    """The bases `term` is made of with one of the endings ("received": "receive", "receiv")."""
    return [term[: -len(s)] for s in SUFFIXES if term.endswith(s) and len(term) > len(s)]


def closeness(word: str, term: str) -> float:
    """Edits from `word` to `term`, half an edit more when they differ by an ending as well."""
    best = float(distance(word, term))
    for s in SUFFIXES:
        if term.endswith(s) and len(term) > len(s):
            best = min(best, distance(word, term[: -len(s)]) + 0.5)
        if word.endswith(s) and len(word) > len(s):
            best = min(best, distance(word[: -len(s)], term) + 0.5)
    return best


@dataclass(frozen=True)
class Candidate:
    term: str
    documents: int  # how many published articles use it


def best_correction(word: str, candidates: Iterable[Candidate]) -> str | None:
    """The known word closest to `word`: fewest edits, then the most used, then alphabetical, so both
    stores, given the same vocabulary, choose the same word."""
    if allowed_distance(word) == 0:
        return None
    limit = allowed_distance(word) + 0.5
    scored = [(closeness(word, c.term), -c.documents, c.term) for c in candidates if c.term != word]
    scored = [s for s in scored if s[0] <= limit]
    return min(scored)[2] if scored else None


# --- articles -----------------------------------------------------------------------------------


class ArticleError(RuleError):
    pass


@dataclass(frozen=True)
class Draft:
    """An article's content as an author saves it; each save is a new version."""

    title: str
    body: str = ""
    category: str = "general"
    locale: str = "en"
    known_questions: tuple[str, ...] = ()
    catalogue_items: tuple[str, ...] = field(default=())


def check_draft(draft: Draft) -> Draft:
    """The draft, tidied (spaces trimmed, empty and repeated lines dropped), or an ArticleError."""
    title = " ".join(draft.title.split())
    if not title:
        raise ArticleError("invalid_title", "an article needs a title")
    if len(title) > MAX_TITLE:
        raise ArticleError("invalid_title", f"a title has at most {MAX_TITLE} characters")
    if len(draft.body) > MAX_BODY:
        raise ArticleError("invalid_body", f"a body has at most {MAX_BODY} characters")
    category = " ".join(draft.category.split()) or "general"
    if len(category) > MAX_CATEGORY or not CATEGORY.fullmatch(category):
        raise ArticleError("invalid_category", "a category is a short name of letters, digits, spaces and - & /")
    if not LOCALE.fullmatch(draft.locale) or len(draft.locale) > 16:
        raise ArticleError("invalid_locale", "a locale is a language tag such as en or en-GB")
    questions = _dedupe(" ".join(q.split()) for q in draft.known_questions if q.strip())
    if len(questions) > MAX_QUESTIONS or any(len(q) > MAX_QUESTION for q in questions):
        raise ArticleError(
            "invalid_questions", f"at most {MAX_QUESTIONS} known questions of at most {MAX_QUESTION} characters"
        )
    items = _dedupe(i.strip() for i in draft.catalogue_items if i.strip())
    if len(items) > MAX_ITEMS or any(len(i) > MAX_ITEM for i in items):
        raise ArticleError("invalid_items", f"at most {MAX_ITEMS} catalogue item ids of at most {MAX_ITEM} characters")
    return Draft(title, draft.body, category, draft.locale, tuple(questions), tuple(items))


def slug_for(title: str) -> str:
    """A URL name made from a title: ASCII letters and digits joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_title.lower()))[:MAX_SLUG].strip("-")
    return slug or "article"


def check_slug(slug: str) -> str:
    if len(slug) > MAX_SLUG or not SLUG.fullmatch(slug):
        raise ArticleError("invalid_slug", "a slug is lower-case letters and digits joined by - or _")
    return slug


TRANSITIONS = {
    "publish": ({DRAFT, ARCHIVED, PUBLISHED}, PUBLISHED),
    "archive": ({DRAFT, PUBLISHED}, ARCHIVED),
    "unpublish": ({PUBLISHED, ARCHIVED}, DRAFT),
}


def next_status(current: str, action: str) -> str:
    if action not in TRANSITIONS:
        raise ArticleError("invalid_action", f"action must be one of {', '.join(TRANSITIONS)}")
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise ArticleError("invalid_transition", f"a {current} article cannot be {target}")
    return target


def parse_synonyms(text: str) -> tuple[str, ...]:
    """A synonym group as staff type it: words or short phrases separated by commas, folded."""
    members = _dedupe(" ".join(words(part)) for part in text.split(","))
    members = [m for m in members if m]
    if len(members) < 2:
        raise ArticleError("invalid_synonyms", "a synonym group needs two or more words or phrases, comma-separated")
    if len(members) > 20 or any(len(m) > 60 or len(m.split()) > 4 for m in members):
        raise ArticleError("invalid_synonyms", "at most 20 members of at most 4 words each")
    return tuple(members)
