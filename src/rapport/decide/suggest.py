"""Suggestions that adapt the experience to how a person uses it, pure: pin what they use most to
their home page, hide what they never use, make their habitual choice the default.

Each is a question in plain words; only a yes changes anything (`experience_of` builds the layout
from the accepted ones), a no keeps the question away for a while, and every answer can be undone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rapport.decide.usage import CHOICE, FEATURE, SCREEN, SURFACES

PIN, HIDE, DEFAULT = "pin", "hide", "default"
KINDS = (PIN, HIDE, DEFAULT)
PENDING, ACCEPTED, DECLINED = "pending", "accepted", "declined"
ANSWERS = {"yes": ACCEPTED, "no": DECLINED}
USAGE_WINDOW = timedelta(days=90)  # the usage a suggestion is built from
PIN_MIN_USES = 5  # uses of one thing in the window before pinning it is worth asking
PIN_MIN_SHARE = 0.2  # ... and its share of everything they opened
HIDE_MIN_USES = 20  # a menu entry is "never used" only by someone who uses the rest a lot
HIDE_SURFACES = (FEATURE, SCREEN)  # what a menu holds
DEFAULT_MIN_TIMES = 5  # times a choice was made before calling one value a habit
DEFAULT_MIN_SHARE = 0.7
MAX_PROPOSALS = 3  # questions open at once: one of each kind at most


@dataclass(frozen=True)
class Use:
    """How often the person did one thing in the window."""

    kind: str
    name: str
    key: str | None
    value: str | None
    uses: int


@dataclass(frozen=True)
class Population:
    """Aggregates over everyone, never one person: the menu (surfaces at least a few people use) and
    the choices that are choices (properties that take more than one value)."""

    menu: frozenset[tuple[str, str]] = frozenset()
    choices: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Proposal:
    key: str  # one question per key and person: asking again reuses it
    kind: str
    target: dict[str, Any]
    question: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _surface_word(surface: str) -> str:
    return {FEATURE: "use", SCREEN: "open", "page": "visit"}[surface]


def pin(surface: str, name: str, uses: int, total: int) -> Proposal:
    return Proposal(
        f"pin:{surface}:{name}",
        PIN,
        {"surface": surface, "name": name},
        f"We notice you {_surface_word(surface)} {name} often — move it to your home page?",
        {"uses": uses, "of": total, "days": USAGE_WINDOW.days},
    )


def hide(surface: str, name: str, total: int) -> Proposal:
    return Proposal(
        f"hide:{surface}:{name}",
        HIDE,
        {"surface": surface, "name": name},
        f"You have not used {name} in the last {USAGE_WINDOW.days} days — hide it from your menu?",
        {"uses": 0, "of": total, "days": USAGE_WINDOW.days},
    )


def default(event: str, prop: str, value: str, times: int, total: int) -> Proposal:
    return Proposal(
        f"default:{event}:{prop}",
        DEFAULT,
        {"event": event, "property": prop, "value": value},
        f"You usually choose {value} as the {prop} for {event} — make it your default?",
        {"times": times, "of": total, "days": USAGE_WINDOW.days},
    )


def _pins(uses: list[Use]) -> list[Proposal]:
    surfaces = [u for u in uses if u.kind in SURFACES]
    total = sum(u.uses for u in surfaces)
    ranked = sorted(surfaces, key=lambda u: (-u.uses, u.kind, u.name))
    return [
        pin(u.kind, u.name, u.uses, total) for u in ranked if u.uses >= PIN_MIN_USES and u.uses >= PIN_MIN_SHARE * total
    ]


def _hides(uses: list[Use], population: Population) -> list[Proposal]:
    used = {(u.kind, u.name) for u in uses if u.kind in HIDE_SURFACES}
    total = sum(u.uses for u in uses if u.kind in HIDE_SURFACES)
    if total < HIDE_MIN_USES:
        return []
    return [hide(s, n, total) for s, n in sorted(population.menu) if s in HIDE_SURFACES and (s, n) not in used]


def _defaults(uses: list[Use], population: Population) -> list[Proposal]:
    by_choice: dict[tuple[str, str], list[Use]] = defaultdict(list)
    for u in uses:
        if u.kind == CHOICE and u.key is not None and u.value is not None:
            by_choice[(u.name, u.key)].append(u)
    found = []
    for (event, prop), values in sorted(by_choice.items()):
        if (event, prop) not in population.choices:
            continue  # one value for everyone: not a choice the person makes
        total = sum(v.uses for v in values)
        top = max(values, key=lambda v: (v.uses, v.value or ""))
        if total >= DEFAULT_MIN_TIMES and top.uses >= DEFAULT_MIN_SHARE * total:
            found.append(default(event, prop, top.value or "", top.uses, total))
    return found


def propose(uses: Iterable[Use], population: Population, closed: frozenset[str]) -> list[Proposal]:
    """What to ask now: the first open question of each kind; `closed` holds the keys not to ask
    (answered yes, or no within the quiet time). Pinned things are not hidden, and the reverse."""
    listed = list(uses)
    found = []
    taken: set[tuple[str, str]] = set()
    for kind_proposals in (_pins(listed), _hides(listed, population), _defaults(listed, population)):
        for proposal in kind_proposals:
            thing = (str(proposal.target.get("surface")), str(proposal.target.get("name")))
            if proposal.key in closed or (proposal.kind != DEFAULT and thing in taken):
                continue
            found.append(proposal)
            taken.add(thing)
            break
    return found[:MAX_PROPOSALS]


def experience_of(accepted: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The layout the person chose: what is on their home page, what is hidden, their defaults."""
    home: list[dict[str, Any]] = []
    hidden: list[dict[str, Any]] = []
    defaults: list[dict[str, Any]] = []
    for kind, target in accepted:
        if kind == PIN:
            home.append({"surface": target.get("surface"), "name": target.get("name")})
        elif kind == HIDE:
            hidden.append({"surface": target.get("surface"), "name": target.get("name")})
        elif kind == DEFAULT:
            defaults.append(
                {"event": target.get("event"), "property": target.get("property"), "value": target.get("value")}
            )
    return {"home": home, "hidden": hidden, "defaults": defaults}


EMPTY_EXPERIENCE: dict[str, Any] = {"home": [], "hidden": [], "defaults": []}
