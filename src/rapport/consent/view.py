"""Consent as the customer sees and sets it: one box per purpose and channel. Pure.

A box is ticked only while every record that decides it is granted and in force: the channel's own
record (or the any-channel one) and any record for one of the customer's addresses on it, such as
an unsubscribe link's. Ticking or unticking a box writes records for each of those, so the change
takes effect for every address at once, the way the permission check reads the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rapport.consent.model import ANY, PORTAL_NOTICE, PURPOSES, ConsentRecord, current_state

# The version of the privacy notice the portal shows beside the consent boxes; recorded with every
# consent given there, so it is known later which words the customer agreed to.
NOTICE_VERSION = PORTAL_NOTICE
PORTAL_CHANNELS = ("email", "sms", "push", "web")

PURPOSE_TEXT = {
    "marketing": "News and offers we send you.",
    "personalization": "Using your history to suggest things for you (only with the Personal level).",
    "analytics": "Counting how our services are used, to improve them.",
    "profiling": "Working out your likely interests from what you do.",
    "sharing": "Sharing your data with our partners.",
    "surveys": "Asking you now and then what you thought of our service.",
}
CHANNEL_TEXT = {
    "email": "Email",
    "sms": "Text message",
    "push": "App notification",
    "web": "Website",
    "phone": "Phone call",
    "mail": "Post",
    "mobile": "Mobile app",
    "in_store": "In store",
    ANY: "Every channel",
}
LEVEL_TEXT = {
    "none": ("Not personalized", "Everyone sees the same pages and messages. We use nothing about you to choose them."),
    "contextual": (
        "Contextual",
        "We use only what you are doing right now, such as the page you are on or what is "
        "in your basket. Your history is not used.",
    ),
    "personal": (
        "Personal",
        "We use your history with us, such as past purchases, to suggest what may suit you. "
        "You can see why each suggestion was made.",
    ),
}

State = dict[tuple[str, str, str | None], ConsentRecord]


@dataclass(frozen=True)
class Cell:
    purpose: str
    channel: str
    status: str  # granted | denied | withdrawn | expired | not given
    ticked: bool
    record: ConsentRecord | None  # the record that decides what the cell shows
    addresses: tuple[str, ...]  # addresses with a record of their own that disagrees

    @property
    def key(self) -> str:
        return f"{self.purpose}:{self.channel}"


def _deciding(state: State, purpose: str, channel: str) -> tuple[ConsentRecord | None, list[ConsentRecord]]:
    base = state.get((purpose, channel, None)) or state.get((purpose, ANY, None))
    own = [r for (p, c, point), r in state.items() if p == purpose and c == channel and point is not None]
    return base, own


def consent_cell(state: State, purpose: str, channel: str, now: datetime) -> Cell:
    base, own = _deciding(state, purpose, channel)
    deciding = own + ([base] if base else [])
    if not deciding:
        return Cell(purpose, channel, "not given", False, None, ())
    off = [r for r in deciding if not r.in_force(now)]
    if not off:
        latest = max(deciding, key=lambda r: r.recorded_at)
        return Cell(purpose, channel, "granted", True, latest, ())
    record = off[0]  # an address's own record first: it is the most specific
    status = "expired" if record.status == "granted" else record.status
    addresses = tuple(str(r.contact_point) for r in off if r.contact_point)
    return Cell(purpose, channel, status, False, record, addresses)


def consent_grid(records: Iterable[ConsentRecord], now: datetime) -> list[list[Cell]]:
    """One row per purpose, one cell per portal channel."""
    state = current_state(records)
    return [[consent_cell(state, p, c, now) for c in PORTAL_CHANNELS] for p in PURPOSES]


def other_consents(records: Iterable[ConsentRecord]) -> list[ConsentRecord]:
    """Current records the grid has no box for: other channels, or every channel at once."""
    return [r for (_, channel, _), r in current_state(records).items() if channel not in PORTAL_CHANNELS]


def consent_changes(
    records: Iterable[ConsentRecord], ticked: set[str], now: datetime, *, source: str = "portal"
) -> list[ConsentRecord]:
    """The records that make the ledger match the boxes the customer left ticked (keys purpose:channel)."""
    state = current_state(records)
    changes = []
    for purpose in PURPOSES:
        for channel in PORTAL_CHANNELS:
            cell = consent_cell(state, purpose, channel, now)
            wanted = cell.key in ticked
            if wanted == cell.ticked:
                continue
            base, own = _deciding(state, purpose, channel)
            status = "granted" if wanted else "withdrawn"
            points: list[str | None] = [None]
            points += [r.contact_point for r in own if r.in_force(now) != wanted]
            changes += [ConsentRecord(purpose, channel, point, status, now, source, NOTICE_VERSION) for point in points]
    return changes
