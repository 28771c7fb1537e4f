"""Property: whatever JSON a client sends to /v1/batch, the answer is never a 5xx, every message is
either accepted or kept as a dead letter, and the processor applies what was accepted.

Messages are drawn near the spec's edges (ids of every JSON type, odd timestamps and offsets, blocked
values, traits and context keys the processor reads, consent, lone surrogates, nesting past the
bound) rather than as random noise, which the first checks would refuse wholesale. The examples
are derandomized: the same ones run everywhere, so a failure is reproducible.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import basic_auth
from rapport.collect.service import log_head
from rapport.collect.store import dead_letters, events
from rapport.profiles.processor import applied_offset

# Strings with lone surrogates too: json.dumps writes them as `\udXXX` escapes, as browsers do.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | TEXT
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
OBJECTS = st.dictionaries(TEXT, VALUES, max_size=4)


def _nest(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))])
TIMES = st.one_of(st.datetimes(timezones=ZONES).map(lambda d: d.isoformat()), st.none(), TEXT, st.integers(), VALUES)
IDS = st.one_of(
    st.sampled_from(["u1", "u2", "a1", " a2 ", "0", "null", "anonymous", "ada@example.com"]),
    st.integers(0, 3),
    VALUES,
)
CONTEXT = st.one_of(
    OBJECTS,
    st.fixed_dictionaries(
        {},
        optional={
            "traits": st.fixed_dictionaries(
                {}, optional={"email": st.sampled_from([" Ada@Example.com", "x"]) | VALUES, "phone": VALUES}
            ),
            "externalIds": st.lists(
                st.fixed_dictionaries({}, optional={"id": IDS, "type": VALUES, "collection": VALUES}), max_size=2
            )
            | VALUES,
            "device": st.fixed_dictionaries({}, optional={"id": IDS, "advertisingId": IDS}) | VALUES,
            "consent": st.fixed_dictionaries({}, optional={"categoryPreferences": OBJECTS | VALUES}),
            "gpc": VALUES,
        },
    ),
)
MESSAGE = st.fixed_dictionaries(
    {"type": st.sampled_from(["identify", "track", "page", "screen", "group", "alias", "track"]), "userId": IDS},
    optional={
        "anonymousId": IDS,
        "previousId": IDS,
        "groupId": IDS,
        "messageId": st.uuids().map(str) | VALUES,
        "event": st.sampled_from(["Order Completed", "Consent Updated"]) | TEXT | VALUES,
        "name": VALUES,
        "timestamp": TIMES,
        "originalTimestamp": TIMES,
        "traits": st.fixed_dictionaries({}, optional={"email": VALUES, "phone": VALUES, "name": VALUES}) | OBJECTS,
        "properties": OBJECTS | st.integers(60, 300).map(_nest),
        "context": CONTEXT,
        "integrations": OBJECTS,
    },
)
BODY = st.fixed_dictionaries(
    {"batch": st.lists(MESSAGE | VALUES, max_size=5)}, optional={"sentAt": TIMES, "context": OBJECTS}
)


def test_no_body_makes_a_5xx_and_every_message_is_kept(client, source, db, admin_headers):
    seen = {"accepted": 0, "rejected": 0}

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(BODY)
    def send(body):
        res = client.post(
            "/v1/batch",
            content=json.dumps(body).encode(),
            headers={**basic_auth(source), "content-type": "application/json"},
        )
        assert res.status_code < 500, (res.status_code, res.text)
        answer = res.json()
        if res.status_code == 200:
            assert answer["accepted"] + answer["rejected"] == len(body["batch"]), answer
            seen["accepted"] += answer["accepted"] - answer["duplicates"]
            seen["rejected"] += answer["rejected"]
        else:
            assert answer["code"] and answer["message"]

    send()
    assert seen["accepted"] > 25 and seen["rejected"] > 25  # the examples reach both outcomes
    with db.read() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
        kept = conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar_one()
        head = log_head(conn)
    assert stored == seen["accepted"] and kept >= seen["rejected"]
    deadline = time.monotonic() + 30  # a message that broke the processor would keep it behind for good
    while applied_offset(db) < head and time.monotonic() < deadline:
        time.sleep(0.05)
    assert applied_offset(db) == head
    assert client.get("/api/v1/dead-letters", headers=admin_headers).status_code == 200
