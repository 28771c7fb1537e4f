"""Next best action, as pure rules: the action catalogue, engagement policies (eligibility,
applicability, suitability), suppression after a "no", and arbitration.

priority = propensity x value x business lever x context weight. Propensity is the mean of a Beta
posterior: the action's prior (alpha, beta) plus what its outcomes said (accepted among shown).
"Do nothing" is always a candidate: an action is shown only when it outranks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapport.consent.model import CHANNELS
from rapport.decide.model import PLACEMENTS, RETURNING_KINDS, Owned
from rapport.kernel.rules import RuleError

KINDS = ("offer", "retention_offer", "service_action", "help", "survey", "do_nothing")
UPSELL = frozenset({"offer"})  # what an open complaint or a detractor's score holds back
OFFERS = frozenset({"offer", "retention_offer"})  # under an eligibility policy, these need profiling consent
DO_NOTHING = "do_nothing"
STAGES = ("eligibility", "applicability")
OUTCOMES = ("accepted", "dismissed", "not_interested", "clicked")
NO = frozenset({"dismissed", "not_interested"})  # a "no": the action is suppressed for a while
# Track events that report an outcome; they carry `decision_id` and the `action_id` (or `id`).
OUTCOME_EVENTS = {
    "Offer Accepted": "accepted",
    "Offer Dismissed": "dismissed",
    "Offer Not Interested": "not_interested",
    "Recommendation Clicked": "clicked",
}
POSITIVE = frozenset({"accepted", "clicked"})
OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "absent")
STAGE_TRAIT = "lifecycle_stage"  # the lifecycle stage is this trait (set by identify or an import)
CONTACT_CHANNELS = tuple(c for c in CHANNELS if c != "any")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_WEIGHT = 1000.0
MAX_VALUE = 1e9
MAX_RULES = 50


class ActionError(RuleError):
    """An action, a policy or the settings cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Action:
    id: str
    name: str
    kind: str
    title: str
    text: str = ""
    url: str | None = None
    item_id: str | None = None  # the catalogue item it offers: never offered to someone who owns it
    value: float | None = None  # None: the item's price, else 1
    lever: float = 1.0
    weights: Mapping[str, float] = field(default_factory=dict)  # placement or channel -> context weight
    prior_alpha: float = 1.0
    prior_beta: float = 9.0  # a new action starts at 1 in 10
    enabled: bool = True


DO_NOTHING_ACTION = Action(DO_NOTHING, "Do nothing", DO_NOTHING, "Nothing", value=0.0)


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    stage: str
    actions: tuple[str, ...]  # the actions it governs; empty: every action but "do nothing"
    rules: Mapping[str, Any]
    enabled: bool = True

    def governs(self, action_id: str) -> bool:
        return self.enabled and action_id != DO_NOTHING and (not self.actions or action_id in self.actions)

    @property
    def reads_profile(self) -> bool:
        return self.stage == "eligibility"


@dataclass(frozen=True)
class Limit:
    max: int
    per_days: int


@dataclass(frozen=True)
class Settings:
    """The business's settings of next best action (one document, `PUT /api/v1/decide/settings`)."""

    contact_limits: Mapping[str, Limit] = field(
        default_factory=lambda: {
            "email": Limit(2, 7),
            "sms": Limit(1, 7),
            "push": Limit(3, 7),
            "phone": Limit(1, 30),
            "web": Limit(10, 1),
            "mobile": Limit(10, 1),
        }
    )
    suppress_days: Mapping[str, int] = field(default_factory=lambda: {"dismissed": 7, "not_interested": 90})
    detractor_days: int = 30
    complaint_topics: tuple[str, ...] = ()  # empty: any unsolved case holds upsell back


@dataclass(frozen=True)
class Signals:
    """What the person's timeline says about their interest now (read from service and voice events)."""

    open_cases: tuple[str, ...] = ()  # ids of unsolved cases that hold upsell back
    detractor_at: datetime | None = None  # their latest detractor's score in the window
    detractor_score: str | None = None  # "nps 3"


@dataclass(frozen=True)
class Stats:
    shown: int = 0
    accepted: int = 0  # accepted or clicked
    dismissed: int = 0
    not_interested: int = 0


@dataclass(frozen=True)
class Facts:
    """What a decision may read of the person for eligibility; None where the level does not allow it."""

    traits: Mapping[str, Any] | None = None
    owned: Mapping[str, Owned] | None = None
    item_kinds: Mapping[str, str] = field(default_factory=dict)
    due: Mapping[str, float] = field(default_factory=dict)


# -- validation ---------------------------------------------------------------------------------


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ActionError(f"invalid_{name}", f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def _text(value: Any, name: str, high: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > high:
        raise ActionError(f"invalid_{name}", f"{name} must be text of {1 if required else 0} to {high} characters")
    return value.strip()


def parse_action(data: Mapping[str, Any], base: Action | None = None) -> Action:
    """An action from a (partial, when `base` is given) document. Raises ActionError."""
    known = {"id", "name", "kind", "title", "text", "url", "item_id", "value", "lever", "weights", "prior", "enabled"}
    unknown = set(data) - known
    if unknown:
        raise ActionError("unknown_field", f"unknown field(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = dict(base.__dict__) if base else {}
    if base is None or "id" in data:
        action_id = data.get("id")
        if not isinstance(action_id, str) or not _ID.match(action_id):
            raise ActionError("invalid_id", "id must be 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit")
        if base is not None and action_id != base.id:
            raise ActionError("invalid_id", "an action's id cannot change")
        values["id"] = action_id
    if values.get("id") == DO_NOTHING:
        raise ActionError("reserved", '"do_nothing" is built in and always a candidate; it cannot be changed')
    if base is None or "kind" in data:
        if data.get("kind") not in KINDS or data.get("kind") == DO_NOTHING:
            raise ActionError("invalid_kind", f"kind must be one of {', '.join(k for k in KINDS if k != DO_NOTHING)}")
        values["kind"] = data["kind"]
    for name, high in (("name", 200), ("title", 300)):
        if base is None or name in data:
            values[name] = _text(data.get(name), name, high, required=True)
    if "text" in data:
        values["text"] = _text(data["text"], "text", 2000)
    if "url" in data:
        url = data["url"]
        if url is not None and (not isinstance(url, str) or not re.match(r"^(https?://|/)\S{0,1990}$", url)):
            raise ActionError("invalid_url", "url must be an http(s) address or a path starting with /")
        values["url"] = url
    if "item_id" in data:
        item = data["item_id"]
        if item is not None and (not isinstance(item, str) or not 1 <= len(item) <= 200):
            raise ActionError("invalid_item_id", "item_id must be a catalogue item's id (1 to 200 characters)")
        values["item_id"] = item
    if "value" in data:
        values["value"] = None if data["value"] is None else _number(data["value"], "value", 0, MAX_VALUE)
    if "lever" in data:
        values["lever"] = _number(data["lever"], "lever", 0, MAX_WEIGHT)
    if "weights" in data:
        weights = data["weights"]
        if not isinstance(weights, Mapping) or len(weights) > 50:
            raise ActionError("invalid_weights", "weights must map a placement or channel to a number")
        values["weights"] = {
            str(k)[:32]: _number(v, "weights", 0, MAX_WEIGHT) for k, v in weights.items() if isinstance(k, str)
        }
        if len(values["weights"]) != len(weights):
            raise ActionError("invalid_weights", "weights must map a placement or channel to a number")
    if "prior" in data:
        prior = data["prior"]
        if not isinstance(prior, Mapping) or set(prior) - {"alpha", "beta"}:
            raise ActionError("invalid_prior", 'prior must be {"alpha": a, "beta": b}, both above 0')
        values["prior_alpha"] = _number(prior.get("alpha", 1.0), "prior", 0.01, 10_000)
        values["prior_beta"] = _number(prior.get("beta", 9.0), "prior", 0.01, 10_000)
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise ActionError("invalid_enabled", "enabled must be true or false")
        values["enabled"] = data["enabled"]
    return Action(**values)


def action_document(action: Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "name": action.name,
        "kind": action.kind,
        "title": action.title,
        "text": action.text,
        "url": action.url,
        "item_id": action.item_id,
        "value": action.value,
        "lever": action.lever,
        "weights": dict(action.weights),
        "prior": {"alpha": action.prior_alpha, "beta": action.prior_beta},
        "enabled": action.enabled,
    }


def _moment(value: Any, name: str) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ActionError("invalid_rules", f"{name} must be an ISO 8601 time with its offset") from None
    if moment.tzinfo is None:
        raise ActionError("invalid_rules", f"{name} must be an ISO 8601 time with its offset")
    return moment.isoformat()


def _condition(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, Mapping):
        raise ActionError("invalid_rules", "each condition is an object")
    if "trait" in rule:
        if set(rule) - {"trait", "op", "value"} or not isinstance(rule["trait"], str) or not rule["trait"]:
            raise ActionError("invalid_rules", 'a trait condition is {"trait": key, "op": ..., "value": ...}')
        op = rule.get("op", "eq")
        if op not in OPS:
            raise ActionError("invalid_rules", f"op must be one of {', '.join(OPS)}")
        if op in ("in", "not_in") and not isinstance(rule.get("value"), list):
            raise ActionError("invalid_rules", f"{op} needs a list as its value")
        if op in ("gt", "gte", "lt", "lte") and (
            isinstance(rule.get("value"), bool) or not isinstance(rule.get("value"), int | float)
        ):
            raise ActionError("invalid_rules", f"{op} needs a number as its value")
        return {"trait": rule["trait"][:200], "op": op, "value": rule.get("value")}
    for key in ("stage", "segment"):
        if key in rule:
            value = rule[key]
            values = value if isinstance(value, list) else [value]
            if set(rule) != {key} or not values or not all(isinstance(v, str) and v for v in values):
                raise ActionError("invalid_rules", f'a {key} condition is {{"{key}": name or [names]}}')
            return {key: values}
    for key in ("owns", "not_owns"):
        if key in rule:
            if set(rule) != {key} or not isinstance(rule[key], str) or not rule[key]:
                raise ActionError("invalid_rules", f'an ownership condition is {{"{key}": item_id}}')
            return {key: rule[key]}
    raise ActionError("invalid_rules", "a condition names a trait, a stage, a segment, owns or not_owns")


def parse_rules(stage: str, rules: Any) -> dict[str, Any]:
    """The rules of a policy of `stage`. Raises ActionError."""
    if not isinstance(rules, Mapping):
        raise ActionError("invalid_rules", "rules must be an object")
    if stage == "eligibility":
        if set(rules) - {"all"} or not isinstance(rules.get("all"), list) or not 1 <= len(rules["all"]) <= MAX_RULES:
            raise ActionError("invalid_rules", f'eligibility rules are {{"all": [1 to {MAX_RULES} conditions]}}')
        return {"all": [_condition(c) for c in rules["all"]]}
    if stage == "applicability":
        if not rules or set(rules) - {"placements", "channels", "starts_at", "ends_at"}:
            raise ActionError("invalid_rules", "applicability rules name placements, channels, starts_at or ends_at")
        parsed: dict[str, Any] = {}
        for key in ("placements", "channels"):
            if key in rules:
                value = rules[key]
                if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                    raise ActionError("invalid_rules", f"{key} must be a list of names")
                if key == "placements" and set(value) - set(PLACEMENTS):
                    raise ActionError("invalid_rules", f"placements must be of {', '.join(PLACEMENTS)}")
                parsed[key] = value
        parsed["starts_at"] = _moment(rules.get("starts_at"), "starts_at")
        parsed["ends_at"] = _moment(rules.get("ends_at"), "ends_at")
        if parsed["starts_at"] and parsed["ends_at"] and parsed["starts_at"] >= parsed["ends_at"]:
            raise ActionError("invalid_rules", "starts_at must be before ends_at")
        return parsed
    raise ActionError("invalid_stage", f"stage must be one of {', '.join(STAGES)}")


def parse_settings(data: Mapping[str, Any], base: Settings | None = None) -> Settings:
    base = base or Settings()
    if not isinstance(data, Mapping) or set(data) - {
        "contact_limits",
        "suppress_days",
        "detractor_days",
        "complaint_topics",
    }:
        raise ActionError(
            "invalid_settings", "settings are contact_limits, suppress_days, detractor_days, complaint_topics"
        )
    values: dict[str, Any] = dict(base.__dict__)
    if "contact_limits" in data:
        limits = data["contact_limits"]
        if not isinstance(limits, Mapping):
            raise ActionError("invalid_settings", 'contact_limits maps a channel to {"max": N, "per_days": D}')
        parsed: dict[str, Limit] = {}
        for channel, limit in limits.items():
            if (
                not isinstance(limit, Mapping)
                or set(limit) != {"max", "per_days"}
                or not all(isinstance(limit[k], int) and not isinstance(limit[k], bool) for k in limit)
                or not 0 <= limit["max"] <= 1000
                or not 1 <= limit["per_days"] <= 365
            ):
                raise ActionError("invalid_settings", f"contact_limits.{channel}: max 0..1000, per_days 1..365")
            if channel not in CONTACT_CHANNELS:
                raise ActionError(
                    "invalid_settings", f"contact_limits: a channel is one of {', '.join(CONTACT_CHANNELS)}"
                )
            parsed[str(channel)] = Limit(limit["max"], limit["per_days"])
        values["contact_limits"] = parsed
    if "suppress_days" in data:
        days = data["suppress_days"]
        if (
            not isinstance(days, Mapping)
            or set(days) - NO
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3650 for v in days.values())
        ):
            raise ActionError("invalid_settings", "suppress_days maps dismissed and not_interested to 0..3650 days")
        values["suppress_days"] = {**base.suppress_days, **days}
    if "detractor_days" in data:
        d = data["detractor_days"]
        if not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 3650:
            raise ActionError("invalid_settings", "detractor_days must be 0..3650")
        values["detractor_days"] = d
    if "complaint_topics" in data:
        topics = data["complaint_topics"]
        if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
            raise ActionError("invalid_settings", "complaint_topics must be a list of case topics")
        values["complaint_topics"] = tuple(t.strip().lower() for t in topics)
    return Settings(**values)


def settings_document(settings: Settings) -> dict[str, Any]:
    return {
        "contact_limits": {c: {"max": v.max, "per_days": v.per_days} for c, v in settings.contact_limits.items()},
        "suppress_days": dict(settings.suppress_days),
        "detractor_days": settings.detractor_days,
        "complaint_topics": list(settings.complaint_topics),
    }


# -- signals read from service and voice events --------------------------------------------------


def is_detractor(metric: Any, score: Any) -> bool:
    """An NPS of 0-6 or a CSAT of 1-2 is a detractor's answer."""
    if isinstance(score, bool) or not isinstance(score, int | float):
        return False
    return (metric == "nps" and score <= 6) or (metric == "csat" and score <= 2)


def signals_of(events: Sequence[tuple[str, Mapping[str, Any], datetime]], settings: Settings, now: datetime) -> Signals:
    """From the person's case and survey events (name, properties, time; oldest first)."""
    status: dict[str, tuple[str, str | None]] = {}
    detractor: tuple[datetime, str] | None = None
    since = now - timedelta(days=settings.detractor_days)
    for name, properties, at in events:
        if name.startswith("Case ") and properties.get("case_id") is not None:
            topic = properties.get("topic")
            status[str(properties["case_id"])] = (str(properties.get("status") or ""), topic)
        elif (
            name == "Survey Answered"
            and at >= since
            and is_detractor(properties.get("metric"), properties.get("score"))
        ):
            detractor = (at, f"{properties.get('metric')} {properties.get('score')}")
    unsolved = tuple(
        case
        for case, (state, topic) in status.items()
        if state not in ("solved", "closed") and (not settings.complaint_topics or topic in settings.complaint_topics)
    )
    return Signals(unsolved, detractor[0] if detractor else None, detractor[1] if detractor else None)


# -- the policies ---------------------------------------------------------------------------------


def _trait_holds(rule: Mapping[str, Any], traits: Mapping[str, Any]) -> bool:
    op, want = rule["op"], rule["value"]
    present = rule["trait"] in traits and traits[rule["trait"]] is not None
    have = traits.get(rule["trait"])
    if op == "exists":
        return present
    if op == "absent":
        return not present
    if op == "eq":
        return present and have == want
    if op == "ne":
        return have != want
    if op == "in":
        return present and have in want
    if op == "not_in":
        return have not in want
    if isinstance(have, bool) or not isinstance(have, int | float):
        return False
    return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op]


def owns(facts: Facts, item_id: str) -> bool:
    """Owns it and it is not due again (a consumable they will need again counts as not owned)."""
    owned = facts.owned or {}
    if item_id not in owned:
        return False
    return facts.item_kinds.get(item_id, "durable") not in RETURNING_KINDS or facts.due.get(item_id, 1.0) < 0.8


def _condition_holds(rule: Mapping[str, Any], facts: Facts) -> bool:
    traits = facts.traits or {}
    if "trait" in rule:
        return _trait_holds(rule, traits)
    if "stage" in rule:
        return traits.get(STAGE_TRAIT) in rule["stage"]
    if "segment" in rule:
        mine = traits.get("segments")
        mine = set(mine) if isinstance(mine, list) else set()
        if isinstance(traits.get("segment"), str):
            mine.add(traits["segment"])
        return bool(mine & set(rule["segment"]))
    if "owns" in rule:
        return owns(facts, rule["owns"])
    return not owns(facts, rule["not_owns"])


def eligible(policy: Policy, facts: Facts) -> str | None:
    """None when the person meets the policy, else why not."""
    if facts.traits is None or facts.owned is None:
        return f"eligibility policy {policy.name!r} reads the profile, which this decision may not"
    for rule in policy.rules["all"]:
        if not _condition_holds(rule, facts):
            return f"not eligible under {policy.name!r}: {describe(rule)}"
    return None


def applicable(policy: Policy, placement: str, channel: str, now: datetime) -> str | None:
    rules = policy.rules
    if rules.get("placements") and placement not in rules["placements"]:
        return f"not for placement {placement} ({policy.name!r})"
    if rules.get("channels") and channel not in rules["channels"]:
        return f"not for channel {channel} ({policy.name!r})"
    if rules.get("starts_at") and now < datetime.fromisoformat(rules["starts_at"]):
        return f"not before {rules['starts_at']} ({policy.name!r})"
    if rules.get("ends_at") and now >= datetime.fromisoformat(rules["ends_at"]):
        return f"ended {rules['ends_at']} ({policy.name!r})"
    return None


def suitable(action: Action, signals: Signals, facts: Facts) -> str | None:
    """In the customer's interest: no upsell during an unsolved case or after a detractor's score,
    never an offer of what they own."""
    if action.kind in UPSELL and signals.open_cases:
        return f"no upsell while case {signals.open_cases[0]} is unsolved"
    if action.kind in UPSELL and signals.detractor_at is not None:
        return f"no upsell after a detractor's answer ({signals.detractor_score}, {signals.detractor_at:%Y-%m-%d})"
    if action.item_id and facts.owned is not None and owns(facts, action.item_id):
        return f"they own {action.item_id}"
    return None


def describe(rule: Mapping[str, Any]) -> str:
    if "trait" in rule:
        return f"trait {rule['trait']} {rule['op']} {rule['value']!r}".replace(" None", "")
    for key in ("stage", "segment"):
        if key in rule:
            return f"{key} in {', '.join(rule[key])}"
    return f"owns {rule['owns']}" if "owns" in rule else f"does not own {rule['not_owns']}"


# -- arbitration ----------------------------------------------------------------------------------


def propensity(action: Action, stats: Stats) -> float:
    """The Beta posterior's mean: (alpha + accepted) / (alpha + beta + shown)."""
    shown = max(stats.shown, stats.accepted)
    return (action.prior_alpha + stats.accepted) / (action.prior_alpha + action.prior_beta + shown)


@dataclass(frozen=True)
class Ranked:
    action: Action
    factors: Mapping[str, Any]

    @property
    def priority(self) -> float:
        return float(self.factors["priority"])


def rank(action: Action, stats: Stats, placement: str, channel: str, item_price: float | None = None) -> Ranked:
    if action.id == DO_NOTHING:
        factors = {"propensity": 1.0, "value": 0.0, "value_from": "do nothing", "lever": 1.0, "context_weight": 1.0}
        return Ranked(action, {**factors, "priority": 0.0})
    p = propensity(action, stats)
    if action.value is not None:
        value, value_from = action.value, "the action's value"
    elif item_price is not None:
        value, value_from = item_price, f"the price of {action.item_id}"
    else:
        value, value_from = 1.0, "default"
    weight = action.weights.get(placement, 1.0) * action.weights.get(channel, 1.0)
    priority = p * value * action.lever * weight
    factors = {
        "propensity": round(p, 6),
        "propensity_from": {
            "prior_alpha": action.prior_alpha,
            "prior_beta": action.prior_beta,
            "shown": stats.shown,
            "accepted": stats.accepted,
        },
        "value": value,
        "value_from": value_from,
        "lever": action.lever,
        "context_weight": weight,
        "priority": round(priority, 9),
    }
    return Ranked(action, factors)


def arbitrate(candidates: Sequence[Ranked], limit: int) -> list[Ranked]:
    """The candidates that outrank "do nothing", best first (ties by id), then "do nothing" itself."""
    better = sorted((c for c in candidates if c.action.id != DO_NOTHING and c.priority > 0), key=_order)
    nothing = next((c for c in candidates if c.action.id == DO_NOTHING), rank(DO_NOTHING_ACTION, Stats(), "", ""))
    return [*better[: max(0, limit - 1)], nothing]


def _order(ranked: Ranked) -> tuple[float, str]:
    return (-ranked.priority, ranked.action.id)


def suppressed_until(outcomes: Sequence[tuple[str, datetime]], settings: Settings) -> datetime | None:
    """After a "no" (dismissed, not interested) the action stays away for the configured days."""
    until: datetime | None = None
    for outcome, at in outcomes:
        if outcome in NO:
            end = at + timedelta(days=settings.suppress_days.get(outcome, 0))
            until = end if until is None or end > until else until
    return until


@dataclass(frozen=True)
class Situation:
    """What one decision knows when it arbitrates."""

    placement: str
    channel: str
    now: datetime
    facts: Facts
    signals: Signals
    answers: Mapping[str, Sequence[tuple[str, datetime]]]  # the person's outcomes per action
    stats: Mapping[str, Stats]
    prices: Mapping[str, float | None]
    contact: str | None  # why the contact policy refuses, if it does
    settings: Settings


def held_because(
    action: Action, policies: Sequence[Policy], s: Situation, may_profile: Callable[[], bool]
) -> str | None:
    """Why the action may not be presented now, or None: policies, profiling consent, suitability,
    suppression after a no, the contact policy, in that order."""
    governing = [p for p in policies if p.governs(action.id)]
    for policy in governing:
        why = (
            eligible(policy, s.facts)
            if policy.stage == "eligibility"
            else applicable(policy, s.placement, s.channel, s.now)
        )
        if why:
            return why
    if action.kind in OFFERS and any(p.reads_profile for p in governing) and not may_profile():
        return "an offer built on the profile needs profiling consent"
    why = suitable(action, s.signals, s.facts)
    if why:
        return why
    until = suppressed_until(s.answers.get(action.id, []), s.settings)
    if until is not None and until > s.now:
        return f"suppressed until {until:%Y-%m-%d %H:%M} UTC after a no"
    return s.contact


def choose(
    catalogue: Sequence[Action],
    policies: Sequence[Policy],
    s: Situation,
    may_profile: Callable[[], bool],
    shown: int,
) -> tuple[list[Ranked], list[dict[str, Any]]]:
    """The actions to present, best first and "do nothing" last, and why each other was not."""
    held: list[dict[str, Any]] = []
    candidates = [rank(DO_NOTHING_ACTION, Stats(), s.placement, s.channel)]
    for action in catalogue:
        if not action.enabled or action.id == DO_NOTHING:
            continue
        why = held_because(action, [p for p in policies if p.enabled], s, may_profile)
        if why:
            held.append({"id": action.id, "kind": action.kind, "why": why})
            continue
        price = s.prices.get(action.item_id) if action.item_id else None
        candidates.append(rank(action, s.stats.get(action.id, Stats()), s.placement, s.channel, price))
    ranked = arbitrate(candidates, shown + 1)
    for entry in candidates:
        if entry not in ranked:
            factors = dict(entry.factors)
            held.append({"id": entry.action.id, "kind": entry.action.kind, "why": "outranked", "factors": factors})
    return ranked, held
