"""Cases: what a customer asked, on any channel, and the rules of its life. Pure.

A case moves new → open → pending (waiting on the customer) or on hold (waiting on someone else)
→ solved → closed. A solved case reopens when the customer writes again or an agent reopens it; a
closed case is final (a new message starts a follow-up case). Its priority, topic and channel choose
its SLA policy (service/sla.py); its place in the queue is decided by `queue_key`, which reads only
the case's own attributes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapport.kernel.rules import RuleError

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "on_hold", "solved"}),
    "open": frozenset({"pending", "on_hold", "solved"}),
    "pending": frozenset({"open", "on_hold", "solved"}),
    "on_hold": frozenset({"open", "pending", "solved"}),
    "solved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
ACTIVE = ("new", "open")  # waiting on the business: what the queue serves
PRIORITIES = ("urgent", "high", "normal", "low")  # most urgent first: the index is the rank
CHANNELS = ("email", "phone", "chat", "web", "portal", "store", "social", "other")
MAX_TAGS = 20
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_TOPIC = re.compile(r"^[a-z0-9][a-z0-9_ -]{0,63}$")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone
REFERENCE_LENGTH = 8
# "[#K7P2QX9M]" in a subject threads a mail onto its case (service/mail.py).
REFERENCE_TAG = re.compile(r"\[#([" + REFERENCE_ALPHABET + r"]{" + str(REFERENCE_LENGTH) + r"})\]")


class CaseRuleError(RuleError):
    """What was asked of a case breaks a rule: `code` for machines, the message for people."""


def new_reference() -> str:
    """A case's reference: unguessable (40 bits), so knowing one case's gives no other's."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def subject_tag(reference: str) -> str:
    return f"[#{reference}]"


def reference_in(subject: str) -> str | None:
    found = REFERENCE_TAG.search(subject or "")
    return found.group(1) if found else None


def check_transition(current: str, wanted: str) -> None:
    if wanted not in STATUSES:
        raise CaseRuleError("invalid_status", f"status must be one of {', '.join(STATUSES)}")
    if wanted != current and wanted not in TRANSITIONS[current]:
        if current == "closed":
            raise CaseRuleError("case_closed", "a closed case cannot change; open a follow-up case")
        raise CaseRuleError("invalid_transition", f"a case that is {current} cannot become {wanted}")


def status_after_customer_message(current: str) -> str:
    """A customer's message wakes the case: pending or solved cases open again."""
    return "open" if current in ("pending", "solved") else current


def status_after_reply(current: str, wanted: str | None) -> str:
    """An agent's public reply opens a new case unless the agent says what it is now."""
    if wanted is not None:
        check_transition(current, wanted)
        return wanted
    return "open" if current == "new" else current


def check_priority(priority: str) -> int:
    if priority not in PRIORITIES:
        raise CaseRuleError("invalid_priority", f"priority must be one of {', '.join(PRIORITIES)}")
    return PRIORITIES.index(priority)


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise CaseRuleError("invalid_channel", f"channel must be one of {', '.join(CHANNELS)}")
    return channel


def clean_tags(tags: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip().lower() for t in tags))
    if len(cleaned) > MAX_TAGS or not all(_TAG.match(t) for t in cleaned):
        raise CaseRuleError(
            "invalid_tags", f"at most {MAX_TAGS} tags of lower-case letters, digits, - and _ (40 characters each)"
        )
    return cleaned


def clean_topic(topic: str | None) -> str | None:
    if topic is None or not topic.strip():
        return None
    topic = topic.strip().lower()
    if not _TOPIC.match(topic):
        raise CaseRuleError("invalid_topic", "a topic is up to 64 lower-case letters, digits, spaces, - and _")
    return topic


@dataclass(frozen=True)
class QueueKey:
    """Where a case stands in the queue, from the case alone: its SLA due time (None: no promise
    running, after every promised case), its priority, then how long the customer has waited."""

    due_at: datetime | None
    priority_rank: int
    waiting_since: datetime | None
    case_id: int

    def sort_key(self) -> tuple[Any, ...]:
        far = datetime.max.replace(tzinfo=None)
        due = self.due_at.replace(tzinfo=None) if self.due_at else far
        waiting = self.waiting_since.replace(tzinfo=None) if self.waiting_since else far
        return (self.due_at is None, due, self.priority_rank, self.waiting_since is None, waiting, self.case_id)


def queue_key(case: Mapping[str, Any]) -> QueueKey:
    """The queue's order for a case row: only these four attributes of the case are ever read."""
    return QueueKey(case["next_due_at"], case["priority_rank"], case["waiting_since"], case["id"])


@dataclass(frozen=True)
class PolicyRule:
    """Which cases an SLA policy is for (None: any) and in what order policies are tried."""

    name: str
    position: int
    channel: str | None
    topic: str | None
    priority: str | None

    def matches(self, channel: str, topic: str | None, priority: str) -> bool:
        return (
            (self.channel is None or self.channel == channel)
            and (self.topic is None or self.topic == topic)
            and (self.priority is None or self.priority == priority)
        )


def choose_policy(rules: Sequence[PolicyRule], channel: str, topic: str | None, priority: str) -> str | None:
    """The first policy (by position, then name) whose conditions the case meets."""
    for rule in sorted(rules, key=lambda r: (r.position, r.name)):
        if rule.matches(channel, topic, priority):
            return rule.name
    return None
