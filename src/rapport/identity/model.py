"""Identifiers and the rules that join them into one person. Pure: no database, no settings object.

The rules are the ones mature CDPs use: values known to be junk never join anything, each
identifier type may be limited per profile (by default one user_id), and identifiers are weighed
in a priority order, so the strongest one decides which profile an event belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import phonenumbers

# Highest priority first.
PRIORITY = ("user_id", "email", "phone", "external", "device_id", "anonymous_id")
_RANK = {t: i for i, t in enumerate(PRIORITY)}
_ALL_ZERO = re.compile(r"^[0\-_.:]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_VALUE_LENGTH = 360
# The context keys that can carry identifiers other than userId and anonymousId (traits with an
# email or phone, a device id, external ids), read by `extract_identifiers`; `id_pair` and the
# processor's test of stored text follow this list.
CONTEXT_IDENTIFIER_KEYS = ("traits", "device", "externalIds")
# How an identifier was verified (docs/decisions/0010-claims-and-assertions.md). None: a client
# source claimed it; ASSERTED: a server source or staff stated it; PROVEN: the customer followed a
# link mailed to it, which shows they hold the mailbox, not that it belongs to this profile.
ASSERTED, PROVEN = "asserted", "proven"
VERIFICATIONS = (ASSERTED, PROVEN)
CLAIMED = "claimed"  # how a reader names the absence of a verification
CONTACT_TYPES = ("email", "phone")
# Ids a browser or device makes up for itself: only the one that sends them knows them, so they are
# bearer secrets, not names. Every other type names a person and can be known to a stranger.
BEARER_TYPES = ("anonymous_id", "device_id")


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    type: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.type}:{self.value}"

    @property
    def rank(self) -> int:
        return _RANK.get(self.type, len(PRIORITY))

    @classmethod
    def from_key(cls, key: str) -> Identifier:
        kind, _, value = key.partition(":")
        return cls(kind, value)


@dataclass(frozen=True)
class IdentityRules:
    blocked_values: frozenset[str] = frozenset()
    limits: Mapping[str, int] = field(default_factory=lambda: {"user_id": 1})
    phone_region: str = "US"


def normalize_email(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if _EMAIL.match(email) and len(email) <= MAX_VALUE_LENGTH else None


def normalize_phone(value: Any, region: str) -> str | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    return _e164(str(value), region)


@lru_cache(maxsize=65_536)  # parsing is the costliest step of identity extraction; people repeat
def _e164(value: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_blocked(value: str, rules: IdentityRules) -> bool:
    lowered = value.strip().lower()
    return not lowered or lowered in rules.blocked_values or bool(_ALL_ZERO.match(lowered))


def _plain(kind: str, value: Any, rules: IdentityRules) -> Identifier | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if is_blocked(text, rules) or len(text) > MAX_VALUE_LENGTH:
        return None
    return Identifier(kind, text)


def _contact_points(traits: Any, rules: IdentityRules) -> Iterable[Identifier | None]:
    if not isinstance(traits, dict):
        return
    email = normalize_email(traits.get("email"))
    if email and not is_blocked(email, rules):
        yield Identifier("email", email)
    phone = normalize_phone(traits.get("phone"), rules.phone_region) if traits.get("phone") else None
    if phone:
        yield Identifier("phone", phone)


def extract_identifiers(message: Mapping[str, Any], rules: IdentityRules) -> list[Identifier]:
    """Every usable identifier in a message, normalized, deduplicated, strongest first."""
    context = message.get("context") or {}
    found: list[Identifier | None] = [
        _plain("user_id", message.get("userId"), rules),
        _plain("anonymous_id", message.get("anonymousId"), rules),
    ]
    if message.get("type") == "identify":
        found.extend(_contact_points(message.get("traits"), rules))
    found.extend(_contact_points(context.get("traits"), rules))
    device: dict[str, Any] = context["device"] if isinstance(context.get("device"), dict) else {}
    found.append(_plain("device_id", device.get("id"), rules))
    for ext in context.get("externalIds") or []:
        if isinstance(ext, dict) and ext.get("type") and ext.get("id") is not None:
            value = _plain("external", f"{str(ext['type'])[:60]}={ext['id']}", rules)
            found.append(value if value and not is_blocked(str(ext["id"]), rules) else None)
    unique = {i.key: i for i in found if i is not None}
    return sorted(unique.values(), key=lambda i: (i.rank, i.value))


def id_pair(message: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    """(userId, anonymousId) when a message can carry no other identifier, else None.

    Messages with equal pairs extract to equal identifiers, so once such a pair is settled in one
    profile (every identifier known and joined), its resolution can be remembered."""
    kind = message.get("type")
    if kind == "alias" or (kind == "identify" and message.get("traits")):
        return None
    context = message.get("context") or {}
    if any(context.get(key) for key in CONTEXT_IDENTIFIER_KEYS):
        return None
    user_id, anonymous_id = message.get("userId"), message.get("anonymousId")
    if not isinstance(user_id, str | None) or not isinstance(anonymous_id, str | None):
        return None
    return user_id, anonymous_id


def alias_candidates(message: Mapping[str, Any], rules: IdentityRules) -> list[Identifier]:
    """What an alias's `previousId` may be: a known user id, else an anonymous id."""
    if message.get("type") != "alias":
        return []
    ident = _plain("user_id", message.get("previousId"), rules)
    return [ident, Identifier("anonymous_id", ident.value)] if ident else []


def previous_identifier(candidates: list[Identifier], graph: GraphView) -> list[Identifier]:
    """Pick the alias candidate the graph knows, preferring the user id; unknown: the anonymous id."""
    if not candidates:
        return []
    known = [c for c in candidates if graph.origin(c.key) is not None]
    return [known[0] if known else candidates[-1]]


def extract_traits(message: Mapping[str, Any]) -> dict[str, Any]:
    """Traits a message states about its person: identify traits win over context.traits."""
    traits: dict[str, Any] = {}
    context = message.get("context") or {}
    if isinstance(context.get("traits"), dict):
        traits.update(context["traits"])
    if message.get("type") == "identify" and isinstance(message.get("traits"), dict):
        traits.update(message["traits"])
    return {str(k)[:200]: v for k, v in traits.items()}


class GraphView(Protocol):
    def origin(self, key: str) -> str | None:
        """The profile that holds this identifier, or None."""

    def canonical(self, profile_id: str) -> str:
        """The profile this one currently shows as (itself unless merged)."""

    def limited_values(self, canonical_id: str) -> dict[str, set[str]]:
        """The values of each limited identifier type across the canonical profile's members."""

    def kept_apart(self, canonical_id: str) -> set[str]:
        """Profiles the canonical profile's group must not merge with: the other side of every merge
        of its members that staff undid."""

    def vouched(self, canonical_id: str) -> bool:
        """Whether the canonical profile's group holds an identifier a server source or staff asserted."""

    def named(self, canonical_id: str) -> bool:
        """Whether the canonical profile's group holds an identifier that names a person (any type
        but the bearer ids a browser or device makes up for itself)."""


@dataclass
class Resolution:
    target: str | None  # the canonical profile the event joins; None: a new profile
    attach: list[Identifier]  # identifiers new to the graph, for the target
    absorb: list[str]  # canonical profiles to merge into the target
    conflicts: list[Identifier]  # identifiers left out: joining would break a limit or an undo
    anchor: Identifier | None  # the strongest identifier kept; its holder takes the event


def _fits(held: Mapping[str, set[str]], limits: Mapping[str, int]) -> bool:
    return all(len(values) <= limits.get(kind, len(values)) for kind, values in held.items())


def _union(a: Mapping[str, set[str]], b: Mapping[str, set[str]]) -> dict[str, set[str]]:
    out = {k: set(v) for k, v in a.items()}
    for kind, values in b.items():
        out.setdefault(kind, set()).update(values)
    return out


def limits_broken(a: Mapping[str, set[str]], b: Mapping[str, set[str]], limits: Mapping[str, int]) -> list[str]:
    """The limited identifier types that joining two groups, holding `a` and `b`, would put over their limit."""
    return sorted(kind for kind, values in _union(a, b).items() if len(values) > limits.get(kind, len(values)))


def _apart(owner: str, joined: list[str | None], graph: GraphView) -> bool:
    return any(graph.canonical(p) in joined for p in graph.kept_apart(owner))


def resolve(
    identifiers: list[Identifier], graph: GraphView, rules: IdentityRules, *, asserted: bool = True
) -> Resolution:
    """Decide where one message's identifiers belong, strongest identifier first.

    A message that only claims (`asserted=False`: a client source, whose key is public) stitches
    anonymous activity to a person, but never joins a group that a server source or staff vouched
    for with another group that names someone (by user id, email, phone or external id): a claim
    would otherwise put one person's verified address on another person's profile, and with it
    their portal and their mail (docs/threat-model.md). Groups of bearer ids alone (a browser's
    anonymous visits) still join anyone."""
    held: dict[str, set[str]] = {}
    target: str | None = None
    vouched = named = False  # whether a group joined so far was vouched for, or names someone
    result = Resolution(None, [], [], [], None)
    for ident in identifiers:
        origin = graph.origin(ident.key)
        if origin is None:
            tentative = _union(held, {ident.type: {ident.value}} if ident.type in rules.limits else {})
            if _fits(tentative, rules.limits):
                held = tentative
                result.attach.append(ident)
                result.anchor = result.anchor or ident
            else:
                result.conflicts.append(ident)
            continue
        owner = graph.canonical(origin)
        if owner == target or owner in result.absorb:
            result.anchor = result.anchor or ident
            continue
        tentative = _union(held, graph.limited_values(owner))
        owner_vouched, owner_named = graph.vouched(owner), graph.named(owner)
        if (
            not _fits(tentative, rules.limits)
            or _apart(owner, [target, *result.absorb], graph)
            or (not asserted and ((vouched and owner_named) or (owner_vouched and named)))
        ):
            result.conflicts.append(ident)
            continue
        held = tentative
        vouched, named = vouched or owner_vouched, named or owner_named
        result.anchor = result.anchor or ident
        if target is None:
            target = owner
        else:
            result.absorb.append(owner)
    result.target = target
    return result
