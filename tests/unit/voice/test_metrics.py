"""The metrics by their standard definitions, against examples worked by hand."""

from __future__ import annotations

import pytest

from rapport.voice import model
from rapport.voice.model import Question, VoiceRuleError, parse_answers


def test_nps_is_percent_promoters_less_percent_detractors():
    # 10 answers: promoters 9, 10, 10, 9 (4 = 40%), passives 7, 8 (2), detractors 0, 6, 5, 3 (4 = 40%) -> 0
    assert model.nps([9, 10, 10, 9, 7, 8, 0, 6, 5, 3]) == {
        "value": 0.0,
        "n": 10,
        "promoters_pct": 40.0,
        "passives_pct": 20.0,
        "detractors_pct": 40.0,
    }
    # 4 answers: 3 promoters (75%), 1 detractor at the boundary 6 (25%) -> 50; 7 and 8 are passive
    assert model.nps([9, 9, 10, 6])["value"] == 50.0
    assert model.nps([7, 8])["value"] == 0.0
    assert model.nps([0])["value"] == -100.0
    assert model.nps([])["value"] is None


def test_csat_is_the_top_two_box_share_and_the_mean():
    # 1, 2, 3, 4, 5, 5: top two box (4-5) = 3 of 6 = 50%; mean 20 / 6 = 3.33
    assert model.csat([1, 2, 3, 4, 5, 5]) == {"value": 50.0, "n": 6, "mean": 3.33}
    assert model.csat([4, 4, 5])["value"] == 100.0
    assert model.csat([])["value"] is None


def test_ces_is_the_mean_agreement_and_the_share_agreeing():
    # 7, 5, 4, 1: mean 17 / 4 = 4.25; agreeing (5-7) 2 of 4 = 50%
    assert model.ces([7, 5, 4, 1]) == {"value": 4.25, "n": 4, "agree_pct": 50.0}


def test_stars_are_the_mean_and_the_distribution():
    assert model.stars([5, 5, 4, 1]) == {
        "value": 3.75,
        "n": 4,
        "distribution": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 2},
    }


QUESTIONS = [
    Question("nps", "nps", "Recommend?", required=True),
    Question("ces", "ces", "Easy?"),
    Question("why", "text", "Why?"),
]


def test_answers_keep_the_raw_text_and_the_score():
    answers = parse_answers(QUESTIONS, {"nps": "10", "ces": 7, "why": "  Quick and kind. "})
    assert [(a.key, a.raw, a.score) for a in answers] == [
        ("nps", "10", 10),
        ("ces", "7", 7),
        ("why", "Quick and kind.", None),
    ]


@pytest.mark.parametrize(
    "given, code",
    [
        ({"nps": "11"}, "invalid_answer"),
        ({"nps": "-1"}, "invalid_answer"),
        ({"nps": "5.5"}, "invalid_answer"),
        ({"nps": True}, "invalid_answer"),
        ({"nps": "٣"}, "invalid_answer"),  # an Arabic-Indic digit is a digit to Python, not a score here
        ({"nps": "5", "ces": "0"}, "invalid_answer"),
        ({"ces": "5"}, "answer_required"),
        ({"nps": "5", "other": "1"}, "unknown_question"),
        ({"nps": "5", "why": "x" * 5001}, "invalid_answer"),
    ],
)
def test_answers_out_of_range_or_missing_are_refused(given, code):
    with pytest.raises(VoiceRuleError) as caught:
        parse_answers(QUESTIONS, given)
    assert caught.value.code == code


def test_detractors_by_nps_csat_or_strongly_negative_words():
    def answers(**given):
        qs = [Question("nps", "nps", "a"), Question("csat", "csat", "b"), Question("why", "text", "c")]
        return parse_answers(qs, given)

    assert model.detractor_reason(answers(nps="6"), {}) == "NPS answer 6 (0-6 is a detractor)"
    assert model.detractor_reason(answers(nps="7"), {}) is None
    assert model.detractor_reason(answers(csat="2"), {}).startswith("CSAT answer 2")
    assert model.detractor_reason(answers(csat="3"), {}) is None
    assert model.detractor_reason(answers(nps="8", why="awful"), {"why": -0.8}).startswith("strongly negative")
    assert model.detractor_reason(answers(nps="8", why="meh"), {"why": -0.2}) is None


def test_questions_are_checked():
    with pytest.raises(VoiceRuleError):
        model.parse_questions([])
    with pytest.raises(VoiceRuleError):
        model.parse_questions([{"key": "a", "type": "nps", "text": "x"}, {"key": "a", "type": "csat", "text": "y"}])
    with pytest.raises(VoiceRuleError):
        model.parse_questions([{"key": "A b", "type": "nps", "text": "x"}])
    with pytest.raises(VoiceRuleError):
        model.parse_questions([{"key": "a", "type": "likert", "text": "x"}])
    with pytest.raises(VoiceRuleError):
        model.check_trigger("milestone", None)
