"""Voice of the customer, as pure rules: the question types and their standard metrics, the rules
that decide whether to ask or skip (survey fatigue), and who is a detractor. Pure.

The standard definitions (docs/voice.md):
- NPS, 0-10: promoters answer 9-10, detractors 0-6; NPS = % promoters - % detractors (-100..100).
- CSAT, 1-5: the top-two-box share (answers 4-5, in %) and the mean.
- CES 2.0, 1-7 agreement with "the company made it easy": the mean and the share agreeing (5-7, in %).
- Stars, 1-5: the mean and the distribution.
- Free text: stored as written; its words are read by the text analysis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapport.kernel.rules import RuleError

# type -> (lowest, highest); text has no scale
SCALES: Mapping[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "stars": (1, 5)}
TYPES = (*SCALES, "text")
METRICS = tuple(SCALES)
TRIGGERS = ("case_solved", "purchase", "milestone", "relationship", "manual")
DELIVERIES = ("email", "portal", "embed")
MAX_QUESTIONS = 10
MAX_TEXT_ANSWER = 5000
MAX_QUESTION_TEXT = 300
MAX_NAME = 120
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_EVENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$")
EDIT_WINDOW = timedelta(hours=24)  # how long an answer can still be changed from its link
INVITATION_LIFETIME = timedelta(days=30)  # after this a link no longer takes answers
SURVEY_ANSWERED = "Survey Answered"  # the timeline event of each scored answer (decide reads it)


class VoiceRuleError(RuleError):
    pass


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    text: str
    required: bool = False


def parse_questions(items: Sequence[Mapping[str, Any]]) -> list[Question]:
    if not 1 <= len(items) <= MAX_QUESTIONS:
        raise VoiceRuleError("invalid_questions", f"a survey has 1 to {MAX_QUESTIONS} questions")
    found: list[Question] = []
    for item in items:
        key, kind, text = item.get("key"), item.get("type"), item.get("text")
        if not isinstance(key, str) or not _KEY.match(key):
            raise VoiceRuleError("invalid_questions", "a question's key is 1 to 32 lower-case letters, digits and _")
        if kind not in TYPES:
            raise VoiceRuleError("invalid_questions", f"a question's type is one of {', '.join(TYPES)}")
        if not isinstance(text, str) or not 1 <= len(text.strip()) <= MAX_QUESTION_TEXT:
            raise VoiceRuleError("invalid_questions", f"a question's text is 1 to {MAX_QUESTION_TEXT} characters")
        if any(q.key == key for q in found):
            raise VoiceRuleError("invalid_questions", f"two questions have the key {key!r}")
        found.append(Question(key, str(kind), text.strip(), bool(item.get("required", False))))
    return found


def check_trigger(trigger: str, milestone_event: str | None) -> str | None:
    if trigger not in TRIGGERS:
        raise VoiceRuleError("invalid_trigger", f"trigger must be one of {', '.join(TRIGGERS)}")
    if trigger == "milestone":
        if not milestone_event or not _EVENT_NAME.match(milestone_event):
            raise VoiceRuleError("invalid_trigger", "a milestone survey names the track event of its milestone")
        return milestone_event
    return None


@dataclass(frozen=True)
class Answer:
    key: str
    type: str
    raw: str  # as the customer gave it
    score: int | None  # None for text


def parse_answers(questions: Sequence[Question], given: Mapping[str, Any]) -> list[Answer]:
    """The customer's answers checked against the questions; raises VoiceRuleError."""
    unknown = set(given) - {q.key for q in questions}
    if unknown:
        raise VoiceRuleError("unknown_question", f"no such question: {', '.join(sorted(unknown))[:200]}")
    answers = []
    for q in questions:
        value = given.get(q.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if q.required:
                raise VoiceRuleError("answer_required", f"please answer: {q.text}")
            continue
        if q.type == "text":
            if not isinstance(value, str) or len(value) > MAX_TEXT_ANSWER:
                raise VoiceRuleError("invalid_answer", f"a written answer is at most {MAX_TEXT_ANSWER} characters")
            answers.append(Answer(q.key, q.type, value.strip(), None))
            continue
        answers.append(Answer(q.key, q.type, str(value)[:20], _score(q, value)))
    if not answers:
        raise VoiceRuleError("answer_required", "answer at least one question")
    return answers


def _score(q: Question, value: Any) -> int:
    low, high = SCALES[q.type]
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 2 and low <= int(text) <= high):
        raise VoiceRuleError("invalid_answer", f"{q.text}: choose a whole number from {low} to {high}")
    return int(text)


# --- the metrics, by their standard definitions -------------------------------------------------


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def nps(scores: Sequence[int]) -> dict[str, Any]:
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    n = len(scores)
    value = round(100.0 * (promoters - detractors) / n, 1) if n else None
    return {
        "value": value,
        "n": n,
        "promoters_pct": _pct(promoters, n),
        "passives_pct": _pct(n - promoters - detractors, n),
        "detractors_pct": _pct(detractors, n),
    }


def _mean(scores: Sequence[int]) -> float | None:
    return round(sum(scores) / len(scores), 2) if scores else None


def csat(scores: Sequence[int]) -> dict[str, Any]:
    top = sum(1 for s in scores if s >= 4)
    return {"value": _pct(top, len(scores)) if scores else None, "n": len(scores), "mean": _mean(scores)}


def ces(scores: Sequence[int]) -> dict[str, Any]:
    agree = sum(1 for s in scores if s >= 5)
    return {"value": _mean(scores), "n": len(scores), "agree_pct": _pct(agree, len(scores))}


def stars(scores: Sequence[int]) -> dict[str, Any]:
    distribution = {str(k): sum(1 for s in scores if s == k) for k in range(1, 6)}
    return {"value": _mean(scores), "n": len(scores), "distribution": distribution}


METRIC_OF = {"nps": nps, "csat": csat, "ces": ces, "stars": stars}
# What `value` means for each metric, for charts and the API.
VALUE_LABEL = {
    "nps": "NPS (-100 to 100)",
    "csat": "CSAT (% answering 4-5)",
    "ces": "CES (mean, 1-7)",
    "stars": "Stars (mean, 1-5)",
}
VALUE_RANGE = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0), "stars": (1.0, 5.0)}


def metric(kind: str, scores: Sequence[int]) -> dict[str, Any]:
    return METRIC_OF[kind](scores)


# --- the closed loop ----------------------------------------------------------------------------

STRONGLY_NEGATIVE = -0.5  # a text whose sentiment score is at or below this is a detractor's


def detractor_reason(answers: Sequence[Answer], text_scores: Mapping[str, float]) -> str | None:
    """Why these answers come from a detractor (None: they do not). `text_scores` holds the
    sentiment score (-1..1) of each written answer, by question key."""
    for a in answers:
        if a.type == "nps" and a.score is not None and a.score <= 6:
            return f"NPS answer {a.score} (0-6 is a detractor)"
        if a.type == "csat" and a.score is not None and a.score <= 2:
            return f"CSAT answer {a.score} (1-2 is dissatisfied)"
    for a in answers:
        score = text_scores.get(a.key)
        if a.type == "text" and score is not None and score <= STRONGLY_NEGATIVE:
            return f"strongly negative words (sentiment {score:.2f})"
    return None


# --- survey fatigue: ask or skip, with the reason ---------------------------------------------


@dataclass(frozen=True)
class FatiguePolicy:
    window_days: int = 90
    max_ratio: float = 1.0  # surveys sent per service interaction in the window, at most (capped)
    min_gap_days: int = 14
    # Channels that may only be answered for a while after the customer last wrote (e.g. messaging apps).
    reply_windows_hours: Mapping[str, int] = field(default_factory=lambda: {"chat": 24, "social": 24, "sms": 24})

    def document(self) -> dict[str, Any]:
        return {
            "window_days": self.window_days,
            "max_ratio": self.max_ratio,
            "min_gap_days": self.min_gap_days,
            "reply_windows_hours": dict(self.reply_windows_hours),
        }


def parse_policy(data: Mapping[str, Any], base: FatiguePolicy | None = None) -> FatiguePolicy:
    base = base or FatiguePolicy()
    unknown = set(data) - {"window_days", "max_ratio", "min_gap_days", "reply_windows_hours"}
    if unknown:
        raise VoiceRuleError("invalid_policy", f"unknown setting(s): {', '.join(sorted(unknown))[:200]}")
    window = data.get("window_days", base.window_days)
    ratio = data.get("max_ratio", base.max_ratio)
    gap = data.get("min_gap_days", base.min_gap_days)
    windows = data.get("reply_windows_hours", base.reply_windows_hours)
    if not _int_in(window, 1, 730) or not _int_in(gap, 0, 365):
        raise VoiceRuleError("invalid_policy", "window_days is 1 to 730 and min_gap_days 0 to 365")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 10:
        raise VoiceRuleError("invalid_policy", "max_ratio is a number above 0 and at most 10")
    if (
        not isinstance(windows, Mapping)
        or len(windows) > 20
        or not all(isinstance(k, str) and 1 <= len(k) <= 16 and _int_in(v, 1, 24 * 30) for k, v in windows.items())
    ):
        raise VoiceRuleError("invalid_policy", "reply_windows_hours maps a channel to 1 to 720 hours")
    return FatiguePolicy(int(window), float(ratio), int(gap), dict(windows))


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class AskFacts:
    """What the rules read about the person and the moment, gathered by voice/fatigue.py."""

    sent_in_window: int  # surveys (and reminders) sent to them in the window
    interactions_in_window: int  # their service interactions in the window
    last_sent_at: datetime | None
    open_complaint: str | None = None  # the reference of an open complaint case
    auto_resolved: bool = False  # the case that triggered this was closed by automation
    channel: str | None = None  # the touchpoint's channel
    last_customer_message_at: datetime | None = None  # on that channel's conversation
    contact_policy: tuple[bool, str] = (True, "")  # the shared contact policy's answer


@dataclass(frozen=True)
class AskDecision:
    ask: bool
    rule: (
        str  # which rule decided: asked | auto_resolved | open_complaint | reply_window | contact_policy | gap | ratio
    )
    reason: str


def ask_or_skip(facts: AskFacts, policy: FatiguePolicy, now: datetime) -> AskDecision:
    """Ask only when every rule allows it; the first rule that refuses gives the reason."""
    if facts.auto_resolved:
        return AskDecision(False, "auto_resolved", "the case was closed by automation, not solved by a person")
    if facts.open_complaint:
        return AskDecision(False, "open_complaint", f"a complaint is open (case {facts.open_complaint})")
    hours = policy.reply_windows_hours.get(facts.channel or "")
    if hours is not None:
        last = facts.last_customer_message_at
        if last is None or now - last > timedelta(hours=hours):
            return AskDecision(False, "reply_window", f"the {facts.channel} reply window ({hours} h) is closed")
    allowed, why = facts.contact_policy
    if not allowed:
        return AskDecision(False, "contact_policy", f"the contact policy refuses: {why}")
    if facts.last_sent_at is not None and now - facts.last_sent_at < timedelta(days=policy.min_gap_days):
        days = (now - facts.last_sent_at).days
        return AskDecision(False, "gap", f"asked {days} days ago; the minimum gap is {policy.min_gap_days} days")
    uses = facts.interactions_in_window
    ratio = (facts.sent_in_window + 1) / uses if uses else float("inf")
    if ratio > policy.max_ratio:
        return AskDecision(
            False,
            "ratio",
            f"asking would make {facts.sent_in_window + 1} surveys for {uses} interactions in "
            f"{policy.window_days} days (at most {policy.max_ratio:g} per interaction)",
        )
    return AskDecision(
        True, "asked", f"{facts.sent_in_window + 1} surveys for {uses} interactions in {policy.window_days} days"
    )
