"""What a message says about how a person uses an app or a site, pure: the features they use
(`Feature Used` with its `feature`), the screens and pages they open, and the choices they make
(each short scalar property of their other track events: a `Cash Withdrawn` of `amount` 100).

These usage lines feed the suggestions (decide/suggest.py). Properties that identify something
(ids, addresses, links) or measure rather than choose (revenue, durations, times) are not choices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapport.decide.model import EVENT_ACTIONS

FEATURE, SCREEN, PAGE, CHOICE = "feature", "screen", "page", "choice"
SURFACES = (FEATURE, SCREEN, PAGE)  # what can be pinned to a home page or hidden
FEATURE_EVENT = "Feature Used"
MAX_NAME = 100
MAX_VALUE = 60
MAX_CHOICES = 8  # properties read per event
# Events whose properties are not the person's choices: items (decide's own lines), consent, outcomes.
NOT_CHOICES = frozenset(EVENT_ACTIONS) | {FEATURE_EVENT, "Consent Updated", "Offer Accepted", "Offer Dismissed"}
_NOT_CHOICE_WORDS = (
    "email",
    "phone",
    "address",
    "url",
    "path",
    "referrer",
    "title",
    "search",
    "query",
    "text",
    "message",
    "comment",
    "subject",
    "body",
    "time",
    "date",
    "duration",
    "revenue",
    "total",
    "price",
    "token",
    "password",
)


@dataclass(frozen=True)
class UsageLine:
    kind: str  # feature | screen | page | choice
    name: str  # the feature, screen or page; for a choice, the event
    key: str | None = None  # a choice's property
    value: str | None = None  # a choice's value, as JSON would write it (100, "savings", true)


def _name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:MAX_NAME] if value else None


def _is_choice_key(key: str) -> bool:
    lowered = key.lower()
    if (
        lowered in ("id", "uuid", "guid", "ip")
        or lowered.endswith(("_id", "-id", "_ids"))
        or key.endswith(("Id", "ID"))
    ):
        return False
    return not any(word in lowered for word in _NOT_CHOICE_WORDS)


def choice_value(value: Any) -> str | None:
    """A property's value as a choice: a short string, a finite number or a boolean; else None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**12 else None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 1e12:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        return text if 0 < len(text) <= MAX_VALUE else None
    return None


def usage_of(message: Mapping[str, Any]) -> list[UsageLine]:
    """The usage lines one message gives (none for most messages)."""
    kind = message.get("type")
    props = message.get("properties")
    props = props if isinstance(props, Mapping) else {}
    if kind == "screen":
        name = _name(message.get("name")) or _name(props.get("name"))
        return [UsageLine(SCREEN, name)] if name else []
    if kind == "page":
        name = _name(message.get("name")) or _name(props.get("name")) or _name(props.get("path"))
        return [UsageLine(PAGE, name)] if name else []
    if kind != "track":
        return []
    event = _name(message.get("event"))
    if event is None:
        return []
    if event == FEATURE_EVENT:
        name = _name(props.get("feature")) or _name(props.get("name"))
        return [UsageLine(FEATURE, name)] if name else []
    if event in NOT_CHOICES:
        return []
    lines = []
    for key, raw in props.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_NAME or not _is_choice_key(key):
            continue
        value = choice_value(raw)
        if value is not None:
            lines.append(UsageLine(CHOICE, event, key, value))
            if len(lines) >= MAX_CHOICES:
                break
    return lines
