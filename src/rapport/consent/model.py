"""Consent, preferences and the one permission check, as pure rules.

The ledger is append-only; the current state is the latest record per purpose x channel x
contact point, and anything never granted (or expired, or withdrawn) is not granted. Every send
and every decision asks `check_permission`, which answers yes or no with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapport.identity.model import CLAIMED, PROVEN

# Purposes that need the person's consent. "service" (answering them, transactional mail) needs
# none, but still honours erasure and suppression.
PURPOSES = ("marketing", "personalization", "analytics", "profiling", "sharing", "surveys")
SERVICE = "service"
# Asking the customer to confirm an address (double opt-in, proof of possession): needs no consent, and
# is the one purpose for which an address a client source only claimed may be written to.
CONFIRMATION = "confirmation"
STATUSES = ("granted", "denied", "withdrawn")
# A grant that a client source (a public write key) stated for a channel that reaches the person:
# it is not in force until the customer confirms it at the contact point (double opt-in).
PENDING = "pending"
# The channels a browser or app decides for itself (a cookie banner): a client's grant for these applies.
SELF_CHANNELS = ("web", "mobile")
CHANNELS = ("email", "sms", "phone", "push", "mail", "web", "mobile", "in_store", "any")
LEVELS = ("none", "contextual", "personal")
ANY = "any"
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

PORTAL_NOTICE = "portal-2025-01"  # the notice the portal shows; what a customer agrees to there refers to it
GPC_SOURCE = "portal:Sec-GPC"  # the source of a denial recorded because the browser sent Global Privacy Control


@dataclass(frozen=True)
class ConsentRecord:
    purpose: str
    channel: str
    contact_point: str | None
    status: str
    recorded_at: datetime
    source: str
    notice_version: str | None = None
    expires_at: datetime | None = None

    def in_force(self, now: datetime) -> bool:
        return self.status == "granted" and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    timezone: str = "UTC"

    def contains(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight


@dataclass(frozen=True)
class FrequencyCap:
    max_messages: int
    per_days: int


@dataclass(frozen=True)
class Preferences:
    personalization_level: str = "contextual"
    preferred_channels: tuple[str, ...] = ()
    quiet_hours: QuietHours | None = None
    frequency_caps: Mapping[str, FrequencyCap] = field(default_factory=dict)
    large_text: bool = False
    high_contrast: bool = False
    reduced_motion: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class PreferenceError(ValueError):
    pass


def current_state(records: Iterable[ConsentRecord]) -> dict[tuple[str, str, str | None], ConsentRecord]:
    """The latest record per purpose x channel x contact point (records in ledger order)."""
    state: dict[tuple[str, str, str | None], ConsentRecord] = {}
    for record in records:
        state[(record.purpose, record.channel, record.contact_point)] = record
    return state


def _consent_for(
    state: Mapping[tuple[str, str, str | None], ConsentRecord],
    purpose: str,
    channel: str,
    contact: str | None,
    now: datetime,
) -> Decision:
    """The most specific record decides: contact point, then channel, then any channel."""
    for key in ((purpose, channel, contact), (purpose, channel, None), (purpose, ANY, None)):
        record = state.get(key)
        if record is None:
            continue
        if record.in_force(now):
            return Decision(True, f"{purpose} consent granted for {_where(key)} on {record.recorded_at:%Y-%m-%d}")
        if record.status == "granted":
            return Decision(False, f"{purpose} consent for {_where(key)} expired")
        return Decision(False, f"{purpose} consent {record.status} for {_where(key)}")
    return Decision(False, f"no {purpose} consent for {channel}: nothing is assumed")


def _where(key: tuple[str, str, str | None]) -> str:
    return key[2] or (key[1] if key[1] != ANY else "every channel")


@dataclass(frozen=True)
class Subject:
    """What the check needs to know about the person, gathered by the service."""

    records: tuple[ConsentRecord, ...]
    preferences: Preferences
    sent_recently: Mapping[str, list[datetime]] = field(default_factory=dict)  # channel -> send times
    suppressed: bool = False  # a contact point of an erased person
    erased: bool = False
    # How the contact point being reached was verified, when it is one of the person's identifiers:
    # "asserted", "proven" or "claimed" (identity.model); None: no such contact point in question.
    reach: str | None = None


def check_permission(
    subject: Subject, purpose: str, channel: str, now: datetime, contact_point: str | None = None, *, outreach: bool
) -> Decision:
    """May we use this person's data for `purpose`, to reach (`outreach`) or serve them on `channel`, now?"""
    if purpose not in (*PURPOSES, SERVICE, CONFIRMATION):
        return Decision(False, f"unknown purpose {purpose!r}")
    if subject.erased:
        return Decision(False, "the person's data was erased")
    if subject.suppressed and purpose != SERVICE:
        return Decision(False, "the contact point belongs to an erased person and is suppressed")
    if purpose == CONFIRMATION:
        return Decision(True, "asking to confirm an address needs no consent")
    if subject.reach == CLAIMED:
        return Decision(False, f"{contact_point} was only claimed by a client source; it gets mail once confirmed")
    if subject.reach == PROVEN and purpose == SERVICE:
        return Decision(False, f"{contact_point} is not confirmed as this customer's by a server source or staff")
    prefs = subject.preferences
    if purpose == "personalization" and prefs.personalization_level != "personal":
        return Decision(False, f"personalization level is {prefs.personalization_level!r}; history is not used")
    if purpose == SERVICE:
        decision = Decision(True, "service messages need no consent")
    else:
        state = current_state(subject.records)
        if subject.reach == PROVEN:  # the customer holds the mailbox: only what they confirmed there counts
            state = {key: record for key, record in state.items() if key[2] == contact_point}
        decision = _consent_for(state, purpose, channel, contact_point, now)
        if not decision:
            return decision
    if outreach and purpose != SERVICE:
        refusal = _contact_rules(subject, channel, now)
        if refusal is not None:  # not `or`: a refusing Decision is falsy
            return refusal
    return decision


def _contact_rules(subject: Subject, channel: str, now: datetime) -> Decision | None:
    """None when quiet hours and frequency caps allow reaching the person now, else why not."""
    prefs = subject.preferences
    if prefs.quiet_hours and prefs.quiet_hours.contains(now):
        q = prefs.quiet_hours
        return Decision(False, f"quiet hours {q.start:%H:%M}-{q.end:%H:%M} {q.timezone}")
    cap = prefs.frequency_caps.get(channel)
    if cap:
        since = now - timedelta(days=cap.per_days)
        sent = sum(1 for t in subject.sent_recently.get(channel, []) if t >= since)
        if sent >= cap.max_messages:
            return Decision(
                False, f"frequency cap: {sent} {channel} messages in {cap.per_days} days (max {cap.max_messages})"
            )
    return None


def contact_rules(
    preferences: Preferences, sent_recently: Mapping[str, list[datetime]], channel: str, now: datetime
) -> Decision | None:
    """The customer's own quiet hours and frequency caps, alone: None when they allow a contact on
    `channel` now (decide's contact policy counts what it presented beside what was sent)."""
    return _contact_rules(Subject((), preferences, sent_recently), channel, now)


def preferences_of(document: Mapping[str, Any] | None) -> Preferences:
    """The stored preferences document of a person (None: they never set any) as Preferences."""
    return parse_preferences(document) if document else Preferences()


def parse_preferences(data: Mapping[str, Any], base: Preferences | None = None) -> Preferences:
    """Validate a (partial) preferences document into Preferences. Raises PreferenceError."""
    base = base or Preferences()
    values: dict[str, Any] = {}
    if "personalization_level" in data:
        if data["personalization_level"] not in LEVELS:
            raise PreferenceError(f"personalization_level must be one of {', '.join(LEVELS)}")
        values["personalization_level"] = data["personalization_level"]
    if "preferred_channels" in data:
        channels = data["preferred_channels"]
        if not isinstance(channels, list) or any(c not in CHANNELS for c in channels):
            raise PreferenceError(f"preferred_channels must be a list of {', '.join(CHANNELS)}")
        values["preferred_channels"] = tuple(dict.fromkeys(channels))
    if "quiet_hours" in data:
        values["quiet_hours"] = _quiet_hours(data["quiet_hours"])
    if "frequency_caps" in data:
        values["frequency_caps"] = _caps(data["frequency_caps"])
    for flag in ("large_text", "high_contrast", "reduced_motion"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise PreferenceError(f"{flag} must be true or false")
            values[flag] = data[flag]
    unknown = set(data) - {*values, "quiet_hours", "frequency_caps"}
    if unknown:
        raise PreferenceError(f"unknown preference(s): {', '.join(sorted(unknown))}")
    return Preferences(**{**base.__dict__, **values})


def _quiet_hours(value: Any) -> QuietHours | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise PreferenceError('quiet_hours must be {"start": "HH:MM", "end": "HH:MM", "timezone": "Area/City"} or null')
    try:
        if not all(_HH_MM.match(str(value.get(k, ""))) for k in ("start", "end")):
            raise ValueError("not HH:MM")  # an offset like 12:00+05:00 would make an aware time
        start, end = time.fromisoformat(str(value["start"])), time.fromisoformat(str(value["end"]))
        zone = str(value.get("timezone", "UTC"))
        ZoneInfo(zone)
    except (KeyError, ValueError, ZoneInfoNotFoundError):
        raise PreferenceError("quiet_hours needs start and end as HH:MM and a known IANA timezone") from None
    return QuietHours(start, end, zone)


def _caps(value: Any) -> dict[str, FrequencyCap]:
    if not isinstance(value, Mapping):
        raise PreferenceError('frequency_caps must map a channel to {"max": N, "per_days": D}')
    caps = {}
    for channel, cap in value.items():
        if channel not in CHANNELS or not isinstance(cap, Mapping):
            raise PreferenceError(f"frequency_caps: {channel!r} is not a channel or its cap is not an object")
        n, days = cap.get("max"), cap.get("per_days", 7)
        if not isinstance(n, int) or not isinstance(days, int) or isinstance(n, bool) or n < 0 or not 1 <= days <= 365:
            raise PreferenceError(f"frequency_caps.{channel}: max must be an integer >= 0, per_days 1..365")
        caps[channel] = FrequencyCap(n, days)
    return caps


def preferences_document(prefs: Preferences) -> dict[str, Any]:
    q = prefs.quiet_hours
    return {
        "personalization_level": prefs.personalization_level,
        "preferred_channels": list(prefs.preferred_channels),
        "quiet_hours": {"start": q.start.strftime("%H:%M"), "end": q.end.strftime("%H:%M"), "timezone": q.timezone}
        if q
        else None,
        "frequency_caps": {c: {"max": f.max_messages, "per_days": f.per_days} for c, f in prefs.frequency_caps.items()},
        "large_text": prefs.large_text,
        "high_contrast": prefs.high_contrast,
        "reduced_motion": prefs.reduced_motion,
    }


CATEGORY_PURPOSES = {
    "marketing": "marketing",
    "advertising": "marketing",
    "email": "marketing",
    "analytics": "analytics",
    "performance": "analytics",
    "statistics": "analytics",
    "personalization": "personalization",
    "personalisation": "personalization",
    "functional": "personalization",
    "profiling": "profiling",
    "sharing": "sharing",
    "sale": "sharing",
    "data_sharing": "sharing",
    "third_party": "sharing",
    "surveys": "surveys",
    "feedback": "surveys",
}
CONSENT_EVENT = "Consent Updated"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


CONTEXT_CONSENT_KEYS = ("consent", "gpc")  # what `consent_from_message` reads in a message's context


def may_state_consent(message: Mapping[str, Any]) -> bool:
    """A cheap first test for `consent_from_message`: False when the message surely states none."""
    if message.get("type") == "track" and message.get("event") == CONSENT_EVENT:
        return True
    context = message.get("context")
    consent, gpc = CONTEXT_CONSENT_KEYS
    return isinstance(context, dict) and (context.get(consent) is not None or context.get(gpc) is True)


def as_claim(record: ConsentRecord, contact_point: str | None) -> ConsentRecord:
    """A consent record as a client source may state it: a withdrawal or denial applies at once, and so
    does a grant for the browser's or app's own channel; any other grant waits, `pending`, for the
    customer to confirm it at `contact_point` (the record's own, else the address the message
    claimed), so a stranger with the public key cannot opt someone in to mail."""
    if record.status != "granted" or record.channel in SELF_CHANNELS:
        return record
    return replace(record, status=PENDING, contact_point=record.contact_point or contact_point)


def consent_from_message(message: Mapping[str, Any], channel: str, at: datetime, source: str) -> list[ConsentRecord]:
    """Consent a tracked message states: a `Consent Updated` event, `context.consent` categories, or GPC."""
    context: dict[str, Any] = message["context"] if isinstance(message.get("context"), dict) else {}
    found: list[ConsentRecord] = []
    if message.get("type") == "track" and message.get("event") == CONSENT_EVENT:
        props: dict[str, Any] = message["properties"] if isinstance(message.get("properties"), dict) else {}
        items: list[Any] = props["consents"] if isinstance(props.get("consents"), list) else [props]
        for item in items:
            if not isinstance(item, dict):
                continue
            purpose, status = item.get("purpose"), item.get("status")
            where = item.get("channel") or ANY
            if purpose in PURPOSES and status in STATUSES and where in CHANNELS:
                contact = item.get("contact_point")
                found.append(
                    ConsentRecord(
                        purpose,
                        where,
                        str(contact)[:360] if contact else None,
                        status,
                        at,
                        source,
                        str(item["notice_version"])[:64] if item.get("notice_version") else None,
                        _parse_time(item.get("expires_at")),
                    )
                )
    categories = (
        (context.get("consent") or {}).get("categoryPreferences") if isinstance(context.get("consent"), dict) else None
    )
    if isinstance(categories, dict):
        for category, value in categories.items():
            purpose = CATEGORY_PURPOSES.get(str(category).strip().lower().replace(" ", "_"))
            if purpose and isinstance(value, bool):
                found.append(ConsentRecord(purpose, channel, None, "granted" if value else "denied", at, source))
    if context.get("gpc") is True:  # Global Privacy Control: an opt-out of sale and sharing
        found.append(ConsentRecord("sharing", ANY, None, "denied", at, f"{source}:Sec-GPC"))
    return found
