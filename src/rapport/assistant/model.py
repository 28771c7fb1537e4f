"""The dialogue's rules: what the assistant does with a message. Pure.

It answers only from the published article of the intent it recognized; asks one clarifying
question when the two most likely intents are close; and hands off to a person when the question is
out of scope, its confidence is low, the customer asks for a person, their sentiment turns negative,
or two turns failed (a clarifying question not answered, an answer the customer says did not help,
an intent with no published article).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapport.kernel.rules import RuleError

MAX_MESSAGE = 2000  # characters of one customer message
CLOSE_MARGIN = 0.15  # the two best intents are "close" within this much probability
CLOSE_FLOOR = 0.15  # ... and the second is itself at least this likely
FAILED_TURNS = 2

# Why a conversation went to a person.
OUT_OF_SCOPE, LOW_CONFIDENCE, ASKED_FOR_PERSON, NEGATIVE, FAILED = (
    "out_of_scope",
    "low_confidence",
    "asked_for_person",
    "negative_sentiment",
    "failed_turns",
)
NO_MODEL = "no_model"
HANDOFF_REASONS = (OUT_OF_SCOPE, LOW_CONFIDENCE, ASKED_FOR_PERSON, NEGATIVE, FAILED, NO_MODEL)

ASSISTANT, CLARIFYING, HANDED_OFF = "assistant", "clarifying", "handed_off"

_PERSON = re.compile(
    r"\b(human|humans|real person|a person|someone|somebody|agent|representative|rep|operator|staff|"
    r"customer service|support team|advisor|adviser)\b",
    re.IGNORECASE,
)
_WANT = re.compile(r"\b(talk|speak|chat|connect|transfer|put me through|get me|want|need|let me|call)\b", re.I)
_NOT_HELPED = re.compile(
    r"^(no|nope|wrong)[.! ]*$|\b(didn'?t help|did not help|doesn'?t help|does not help|not helpful|"
    r"not what i (asked|meant|wanted)|wrong answer|that'?s not it|doesn'?t answer|does not answer)\b",
    re.IGNORECASE,
)
_FIRST = re.compile(r"^\s*(1|one|first|the first( one)?|a)\s*[.!]?\s*$", re.IGNORECASE)
_SECOND = re.compile(r"^\s*(2|two|second|the second( one)?|b)\s*[.!]?\s*$", re.IGNORECASE)


class MessageError(RuleError):
    pass


def clean_message(text: str) -> str:
    """What the customer wrote, with runs of whitespace made one space; refused empty or too long."""
    if len(text) > MAX_MESSAGE:
        raise MessageError("message_too_long", f"a message is at most {MAX_MESSAGE} characters")
    cleaned = " ".join(text.replace("\x00", " ").split())
    if not cleaned:
        raise MessageError("empty_message", "write a question")
    return cleaned


def asks_for_person(text: str) -> bool:
    """'Can I talk to a person?', 'agent please', 'human': the customer wants a person, not an answer."""
    if not _PERSON.search(text):
        return False
    return bool(_WANT.search(text)) or len(text.split()) <= 3


def says_not_helped(text: str) -> bool:
    return bool(_NOT_HELPED.search(text.strip()))


@dataclass(frozen=True)
class Guess:
    """What the intent model made of a message (intents.Prediction, as the rules need it)."""

    intent: str | None
    confidence: float
    runner_up: str | None
    runner_up_confidence: float
    in_scope: bool
    best_is_intent: bool  # False: the model's best class is "out of scope" itself


@dataclass(frozen=True)
class State:
    status: str = ASSISTANT
    failed_turns: int = 0
    options: tuple[str, ...] = ()  # the intents a clarifying question offered


@dataclass(frozen=True)
class Decision:
    action: str  # answer | clarify | retry | handoff
    intent: str | None = None
    options: tuple[str, ...] = ()
    reason: str | None = None  # handoff: why; retry: what failed
    failed_turns: int = 0


def chosen_option(text: str, options: Sequence[str], titles: Sequence[str], guess: Guess | None) -> str | None:
    """Which of the offered intents the customer's answer picks: 1/2, first/second, a title, or a
    message whose best intent is one of them."""
    if len(options) < 2:
        return None
    if _FIRST.match(text):
        return options[0]
    if _SECOND.match(text):
        return options[1]
    folded = text.casefold().strip(" .!?")
    for option, title in zip(options, titles, strict=False):
        if folded in (option.casefold(), option.replace("_", " ").casefold(), title.casefold().strip(" .!?")):
            return option
    if guess is not None and guess.intent in options and guess.best_is_intent:
        return guess.intent
    return None


def decide(
    text: str,
    guess: Guess | None,
    state: State,
    *,
    negative: bool,
    has_article: frozenset[str],
    choice: str | None = None,
) -> Decision:
    """The next step of the dialogue. `guess` None: no model is trained, a person must answer."""
    failed = state.failed_turns
    if asks_for_person(text):
        return Decision("handoff", reason=ASKED_FOR_PERSON, failed_turns=failed)
    if negative:
        return Decision("handoff", reason=NEGATIVE, failed_turns=failed)
    if guess is None:
        return Decision("handoff", reason=NO_MODEL, failed_turns=failed)
    if state.status == CLARIFYING and choice is not None:
        return Decision("answer", intent=choice, failed_turns=failed)
    if says_not_helped(text) and state.status != CLARIFYING:
        return _failed(failed, "not_helped")
    if not guess.best_is_intent:
        return Decision("handoff", reason=OUT_OF_SCOPE, failed_turns=failed)
    if not guess.in_scope:
        if state.status == CLARIFYING:
            return _failed(failed, "clarification_unanswered")
        return Decision("handoff", reason=LOW_CONFIDENCE, failed_turns=failed)
    if guess.intent not in has_article:
        return _failed(failed, "no_article")
    close = (
        guess.runner_up is not None
        and guess.runner_up in has_article
        and guess.runner_up_confidence >= CLOSE_FLOOR
        and guess.confidence - guess.runner_up_confidence < CLOSE_MARGIN
    )
    if close and state.status != CLARIFYING:  # one clarifying question, never two in a row
        return Decision("clarify", options=(str(guess.intent), str(guess.runner_up)), failed_turns=failed)
    return Decision("answer", intent=guess.intent, failed_turns=failed)


def _failed(failed: int, why: str) -> Decision:
    failed += 1
    if failed >= FAILED_TURNS:
        return Decision("handoff", reason=FAILED, failed_turns=failed)
    return Decision("retry", reason=why, failed_turns=failed)


HANDOFF_SAYS = {
    OUT_OF_SCOPE: "That is not something I can answer here.",
    LOW_CONFIDENCE: "I am not sure I understood.",
    ASKED_FOR_PERSON: "Of course.",
    NEGATIVE: "I am sorry about this.",
    FAILED: "I have not managed to help.",
    NO_MODEL: "I cannot answer questions yet.",
}
RETRY_SAYS = {
    "not_helped": "Sorry that did not help. Could you tell me a little more about what you need?",
    "clarification_unanswered": "I did not catch which one you meant. Could you say it another way?",
    "no_article": "I do not have an article about that yet. Could you put your question another way?",
}


def handoff_text(reason: str, reference: str) -> str:
    return (
        f"{HANDOFF_SAYS.get(reason, '')} I have passed our conversation to a person, who will answer here "
        f"(your request is {reference}). You can keep writing: they will see everything."
    ).strip()


def clarify_text(titles: Sequence[str]) -> str:
    return f"Do you mean “{titles[0]}” or “{titles[1]}”? Answer 1 or 2."
