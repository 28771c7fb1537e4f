"""Next best action's pure rules: arbitration (do nothing always there, best first), propensity's
Beta prior and its learning, suppression after a no, signals read from case and survey events,
eligibility and applicability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.decide import actions_model as am
from rapport.decide.model import Owned

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)

actions = st.builds(
    am.Action,
    id=st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
    name=st.just("n"),
    kind=st.sampled_from([k for k in am.KINDS if k != am.DO_NOTHING]),
    title=st.just("t"),
    value=st.one_of(st.none(), st.floats(0, 1000)),
    lever=st.floats(0, 10),
    prior_alpha=st.floats(0.01, 10),
    prior_beta=st.floats(0.01, 10),
)
stats = st.integers(0, 1000).flatmap(lambda n: st.builds(am.Stats, shown=st.just(n), accepted=st.integers(0, n)))


@given(st.lists(st.tuples(actions, stats), max_size=12, unique_by=lambda t: t[0].id), st.integers(1, 6))
def test_do_nothing_is_always_there_last_and_what_shows_outranks_it_best_first(catalogue, limit):
    ranked = [am.rank(a, s, "home", "web") for a, s in catalogue]
    chosen = am.arbitrate([am.rank(am.DO_NOTHING_ACTION, am.Stats(), "home", "web"), *ranked], limit)
    assert chosen[-1].action.id == am.DO_NOTHING
    assert [c.action.id for c in chosen].count(am.DO_NOTHING) == 1
    assert len(chosen) <= max(limit, 1)
    shown = chosen[:-1]
    assert all(c.priority > 0 for c in shown)
    assert [c.priority for c in shown] == sorted((c.priority for c in shown), reverse=True)
    left_out = [r for r in ranked if r not in shown and r.priority > 0]
    assert all(r.priority <= shown[-1].priority for r in left_out) if shown and left_out else True


@given(st.lists(st.tuples(actions, stats), max_size=6, unique_by=lambda t: t[0].id))
def test_do_nothing_is_there_even_when_nobody_puts_it_in(catalogue):
    chosen = am.arbitrate([am.rank(a, s, "home", "web") for a, s in catalogue], 3)
    assert chosen[-1].action.id == am.DO_NOTHING


@given(stats, st.floats(0.01, 10), st.floats(0.01, 10))
def test_propensity_is_the_beta_posterior_mean_and_stays_in_0_1(s, alpha, beta):
    action = am.Action("a", "n", "offer", "t", prior_alpha=alpha, prior_beta=beta)
    p = am.propensity(action, s)
    assert 0 < p < 1
    more = am.propensity(action, am.Stats(s.shown + 1, s.accepted + 1))
    less = am.propensity(action, am.Stats(s.shown + 1, s.accepted))
    assert less < p < more


def test_a_new_action_starts_at_its_prior_and_learns():
    action = am.Action("a", "n", "offer", "t")
    assert am.propensity(action, am.Stats()) == pytest.approx(0.1)
    assert am.propensity(action, am.Stats(shown=10, accepted=5)) == pytest.approx(6 / 20)
    r = am.rank(action, am.Stats(10, 5), "cart", "web")
    assert r.factors["value_from"] == "default" and r.factors["priority"] == pytest.approx(0.3)


answers = st.lists(
    st.tuples(st.sampled_from(am.OUTCOMES), st.integers(0, 200).map(lambda d: NOW - timedelta(days=d))), max_size=8
)


@given(answers, st.integers(0, 100), st.integers(0, 100))
def test_a_no_suppresses_for_its_days_and_then_expires(given_answers, dismissed, refused):
    settings = am.Settings(suppress_days={"dismissed": dismissed, "not_interested": refused})
    until = am.suppressed_until(given_answers, settings)
    noes = [(o, at) for o, at in given_answers if o in am.NO]
    if not noes:
        assert until is None
        return
    ends = [at + timedelta(days=dismissed if o == "dismissed" else refused) for o, at in noes]
    assert until == max(ends)


def test_signals_from_cases_and_surveys():
    settings = am.Settings(detractor_days=30)
    case = {"case_id": 1, "status": "new", "topic": "billing"}
    events = [
        ("Case Opened", case, NOW - timedelta(days=5)),
        ("Case Opened", {**case, "case_id": 2}, NOW - timedelta(days=4)),
        ("Case Solved", {**case, "case_id": 2, "status": "solved"}, NOW - timedelta(days=3)),
        ("Survey Answered", {"metric": "nps", "score": 2}, NOW - timedelta(days=31)),
        ("Survey Answered", {"metric": "ces", "score": 1}, NOW),
        ("Survey Answered", {"metric": "nps", "score": True}, NOW),
    ]
    signals = am.signals_of(events, settings, NOW)
    assert signals.open_cases == ("1",) and signals.detractor_at is None
    signals = am.signals_of([*events, ("Survey Answered", {"metric": "nps", "score": 6}, NOW)], settings, NOW)
    assert signals.detractor_score == "nps 6"
    assert am.signals_of(events, am.Settings(complaint_topics=("complaint",)), NOW).open_cases == ()
    assert [am.is_detractor("csat", s) for s in (1, 2, 3)] == [True, True, False]


def test_eligibility_fails_closed_without_the_profile_and_reads_traits_stage_segment_ownership():
    rules = am.parse_rules(
        "eligibility",
        {
            "all": [
                {"trait": "age", "op": "gte", "value": 18},
                {"stage": "customer"},
                {"segment": ["vip"]},
                {"not_owns": "tv"},
            ]
        },
    )
    policy = am.Policy(1, "adults", "eligibility", (), rules)
    assert "reads the profile" in (am.eligible(policy, am.Facts()) or "")
    traits = {"age": 30, "lifecycle_stage": "customer", "segments": ["vip"]}
    assert am.eligible(policy, am.Facts(traits, {})) is None
    owned = {"tv": Owned("tv", 1, NOW, NOW, [NOW])}
    refused = am.eligible(policy, am.Facts(traits, owned, {"tv": "durable"}))
    assert refused == "not eligible under 'adults': does not own tv"
    assert am.eligible(policy, am.Facts(traits, owned, {"tv": "consumable"}, {"tv": 0.9})) is None  # due again
    assert am.eligible(policy, am.Facts({**traits, "age": "30"}, {})) == "not eligible under 'adults': trait age gte 18"


def test_applicability_window():
    rules = am.parse_rules(
        "applicability", {"starts_at": "2026-12-01T00:00:00+00:00", "ends_at": "2026-12-05T00:00:00Z"}
    )
    policy = am.Policy(1, "december", "applicability", (), rules)
    assert am.applicable(policy, "home", "web", NOW) is None
    assert am.applicable(policy, "home", "web", NOW + timedelta(days=2)).startswith("ended")
    with pytest.raises(am.ActionError):
        am.parse_rules("applicability", {"starts_at": "2026-12-01T00:00:00"})  # no offset


def test_suitability_holds_upsell_only():
    signals = am.Signals(open_cases=("9",))
    assert am.suitable(am.Action("a", "n", "offer", "t"), signals, am.Facts()) == "no upsell while case 9 is unsolved"
    for kind in ("help", "service_action", "survey", "retention_offer"):
        assert am.suitable(am.Action("a", "n", kind, "t"), signals, am.Facts()) is None


@given(
    st.lists(st.tuples(actions, stats), min_size=1, max_size=8, unique_by=lambda t: t[0].id),
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
        answers,
        max_size=8,
    ),
    st.integers(0, 60),
    st.one_of(st.none(), st.just("contact policy: 3 web contacts in 1 days (max 3)")),
    st.booleans(),
)
def test_a_suppressed_action_never_shows_and_do_nothing_always_does(catalogue, given_answers, days, refusal, case):
    settings = am.Settings(suppress_days={"dismissed": days, "not_interested": days})
    situation = am.Situation(
        "home",
        "web",
        NOW,
        am.Facts(),
        am.Signals(open_cases=("1",) if case else ()),
        given_answers,
        {a.id: s for a, s in catalogue},
        {},
        refusal,
        settings,
    )
    ranked, held = am.choose([a for a, _ in catalogue], [], situation, lambda: True, 3)
    shown = [r.action.id for r in ranked]
    assert shown[-1] == am.DO_NOTHING and shown.count(am.DO_NOTHING) == 1
    for action_id in shown[:-1]:
        until = am.suppressed_until(given_answers.get(action_id, []), settings)
        assert until is None or until <= NOW, (action_id, until)
    if refusal:
        assert shown == [am.DO_NOTHING]
    kinds = {a.id: a.kind for a, _ in catalogue}
    if case:
        assert all(kinds[i] != "offer" for i in shown[:-1])
    assert set(shown[:-1]) | {h["id"] for h in held} == {a.id for a, _ in catalogue}  # each one shown or explained
