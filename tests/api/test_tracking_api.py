"""The Segment Tracking API through HTTP, as SDKs use it: routes, auth, bodies, answers."""

from __future__ import annotations

import base64
import gzip
import time

import orjson
import pytest
import sqlalchemy as sa

from factories import basic_auth, count_rows, profile_by, send_batch
from rapport.collect.backpressure import LagGate
from rapport.collect.store import dead_letters, events

SINGLE = ["identify", "track", "page", "screen", "group", "alias", "i", "t", "p", "s", "g", "a"]
VALID_SINGLE = {
    "identify": {"userId": "u1", "traits": {"name": "Ada"}},
    "track": {"userId": "u1", "event": "Signed Up"},
    "page": {"anonymousId": "a1", "name": "Home"},
    "screen": {"anonymousId": "a1", "name": "Home"},
    "group": {"userId": "u1", "groupId": "g1"},
    "alias": {"userId": "u1", "previousId": "a1"},
}
LONG = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias"}


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/import", "/v1/b"])
def test_batch_routes_accept_messages(client, source, db, path):
    body = {"batch": [{"type": "track", "userId": "u1", "event": "A"}, {"type": "page", "anonymousId": "x"}]}
    res = client.post(path, json=body, headers=basic_auth(source))
    assert res.status_code == 200, res.text
    assert res.json()["accepted"] == 2
    assert count_rows(db, events) == 2


@pytest.mark.parametrize("path", SINGLE)
def test_single_routes_accept_one_message(client, source, db, path):
    msg_type = LONG.get(path, path)
    res = client.post(f"/v1/{path}", json=VALID_SINGLE[msg_type], headers=basic_auth(source))
    assert res.status_code == 200, res.text
    with db.read() as conn:
        assert conn.execute(sa.select(events.c.type)).scalars().all() == [msg_type]


@pytest.mark.parametrize("path", SINGLE + ["batch", "import", "b"])
def test_every_route_rejects_malformed_json_with_400(client, source, path):
    res = client.post(
        f"/v1/{path}", content=b"{not json", headers={**basic_auth(source), "content-type": "application/json"}
    )
    assert res.status_code == 400
    assert res.json()["code"] == "invalid_json"
    assert res.json()["message"]


@pytest.mark.parametrize("path", SINGLE + ["batch"])
def test_every_route_rejects_unknown_key_with_401(client, path):
    res = client.post(f"/v1/{path}", json={"batch": [], **VALID_SINGLE["track"]}, auth=("nope", ""))
    assert res.status_code == 401
    assert res.json()["code"] == "invalid_write_key"


@pytest.mark.parametrize("path", SINGLE + ["batch"])
def test_every_route_rejects_missing_key_with_401(client, path):
    res = client.post(f"/v1/{path}", json={"batch": [], **VALID_SINGLE["track"]})
    assert res.status_code == 401
    assert res.json()["code"] == "missing_write_key"


def test_write_key_accepted_in_every_form(client, source, db):
    msg = {"batch": [{"type": "track", "userId": "u1", "event": "A"}]}
    bare = base64.b64encode(source.write_key.encode()).decode()
    forms = [
        {"headers": basic_auth(source)},
        {"headers": {"Authorization": f"Basic {bare}"}},
        {"headers": {"X-Write-Key": source.write_key}},
        {"json_extra": {"writeKey": source.write_key}},
    ]
    for i, form in enumerate(forms):
        body = {"batch": [{**msg["batch"][0], "messageId": f"m{i}"}], **form.get("json_extra", {})}
        res = client.post("/v1/batch", json=body, headers=form.get("headers", {}))
        assert res.status_code == 200, (form, res.text)
    assert count_rows(db, events) == 4


@pytest.mark.parametrize(
    "credentials",
    [
        b"Basic !!!notbase64",
        b"Basic \xe9\xe9",  # not ASCII (a header's bytes are read as Latin-1): this answered 500
        b"Basic " + base64.b64encode(b"\xff\xfe:"),  # base64 of what is not UTF-8
    ],
)
def test_invalid_basic_credentials_are_401_not_500(client, credentials):
    res = client.post("/v1/batch", json={"batch": []}, headers={"Authorization": credentials})
    assert res.status_code == 401
    assert res.json()["code"] == "invalid_authorization"


def test_text_plain_and_gzip_bodies(client, source, db):
    body = orjson.dumps({"batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "p1"}]})
    res = client.post("/v1/batch", content=body, headers={**basic_auth(source), "content-type": "text/plain"})
    assert res.status_code == 200
    zipped = gzip.compress(
        orjson.dumps({"batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "g1"}]})
    )
    res = client.post("/v1/batch", content=zipped, headers={**basic_auth(source), "Content-Encoding": "gzip"})
    assert res.status_code == 200, res.text
    assert count_rows(db, events) == 2


def test_bad_gzip_and_unknown_encoding_are_400(client, source):
    res = client.post("/v1/batch", content=b"not gzip", headers={**basic_auth(source), "Content-Encoding": "gzip"})
    assert (res.status_code, res.json()["code"]) == (400, "invalid_gzip")
    res = client.post("/v1/batch", content=b"{}", headers={**basic_auth(source), "Content-Encoding": "br"})
    assert (res.status_code, res.json()["code"]) == (400, "unsupported_encoding")


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"{}", b'{"batch": {}}', b'{"batch": [], "context": []}'])
def test_no_valid_envelope_is_400(client, source, body):
    res = client.post("/v1/batch", content=body, headers={**basic_auth(source), "content-type": "application/json"})
    assert res.status_code == 400
    assert res.json()["code"] in ("invalid_body", "invalid_batch")


def test_batch_size_limit_is_measured_after_decompression(client, make_source):
    src = make_source("web", max_message_bytes=32 * 1024, max_batch_bytes=64 * 1024)
    batch = [{"type": "track", "userId": "u", "event": "A", "properties": {"pad": "x" * 1000}} for _ in range(80)]
    zipped = gzip.compress(orjson.dumps({"batch": batch}))
    assert len(zipped) < 64 * 1024
    res = client.post("/v1/batch", content=zipped, headers={**basic_auth(src), "Content-Encoding": "gzip"})
    assert res.status_code == 400
    assert res.json()["code"] == "payload_too_large"


def test_a_source_may_allow_4mb_batches(client, make_source, db):
    src = make_source("web", max_message_bytes=32 * 1024, max_batch_bytes=4 * 1024 * 1024)
    batch = [
        {"type": "track", "userId": f"u{i}", "event": "A", "properties": {"pad": "x" * 20_000}} for i in range(150)
    ]
    body = orjson.dumps({"batch": batch})
    assert 2_500_000 < len(body) < 4 * 1024 * 1024
    res = client.post("/v1/batch", content=body, headers={**basic_auth(src), "content-type": "application/json"})
    assert res.status_code == 200, res.text
    assert count_rows(db, events) == 150
    default = make_source("web")
    res = client.post("/v1/batch", content=body, headers={**basic_auth(default), "content-type": "application/json"})
    assert (res.status_code, res.json()["code"]) == (400, "payload_too_large")


def test_oversize_message_in_a_batch_is_dead_lettered(client, source, db):
    big = {"type": "track", "userId": "u", "event": "A", "properties": {"pad": "x" * 40_000}}
    res = send_batch(client, source, [big, {"type": "track", "userId": "u", "event": "B"}])
    assert res.status_code == 200
    assert res.json()["accepted"] == 1
    assert res.json()["problems"][0]["code"] == "message_too_large"
    assert count_rows(db, dead_letters) == 1


def _nest(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


INVALID = [
    ({"type": "track", "event": "A"}, "missing_id"),
    ({"type": "track", "userId": "u"}, "missing_event"),
    ({"type": "track", "userId": "u", "event": "  "}, "missing_event"),
    ({"type": "track", "userId": "u", "event": "A", "timestamp": "yesterday"}, "invalid_timestamp"),
    ({"type": "track", "userId": "u", "event": "A", "timestamp": 12345}, "invalid_timestamp"),
    ({"type": "teleport", "userId": "u"}, "unknown_type"),
    ({"userId": "u"}, "unknown_type"),
    ({"type": "group", "userId": "u"}, "missing_group_id"),
    ({"type": "alias", "userId": "u"}, "missing_id"),
    ({"type": "identify", "userId": "u", "traits": ["a"]}, "invalid_field"),
    ({"type": "identify", "userId": True}, "invalid_id"),
    ({"type": "identify", "userId": {"a": 1}}, "invalid_id"),
    ("just a string", "invalid_message"),
    ({"type": "track", "userId": "u", "event": "A", "messageId": True}, "invalid_id"),
    ({"type": "track", "userId": "u", "event": "A", "properties": _nest(70)}, "too_deep"),
    # Deeper than orjson writes: this answered 500 for the whole batch until the rule existed.
    ({"type": "track", "userId": "u", "event": "A", "properties": _nest(300)}, "too_deep"),
]


def test_invalid_messages_are_kept_with_their_reason_and_valid_ones_accepted(client, source, db, admin_headers):
    batch = [m for m, _ in INVALID] + [{"type": "track", "userId": "ok", "event": "Fine"}]
    res = send_batch(client, source, batch)
    assert res.status_code == 200
    body = res.json()
    assert body["accepted"] == 1
    assert body["rejected"] == len(INVALID)
    assert [p["code"] for p in body["problems"]] == [code for _, code in INVALID]
    assert [p["index"] for p in body["problems"]] == list(range(len(INVALID)))
    listed = client.get("/api/v1/dead-letters", headers=admin_headers).json()["items"]
    assert sorted(d["code"] for d in listed) == sorted(code for _, code in INVALID)
    assert all(d["reason"] and d["source"] == source.name for d in listed)


@pytest.mark.parametrize("path", ["track", "t", "identify", "page", "alias", "group"])
def test_invalid_single_message_is_400_and_dead_lettered(client, source, db, path):
    res = client.post(f"/v1/{path}", json={"properties": {}}, headers=basic_auth(source))
    assert res.status_code == 400
    assert res.json()["code"] in ("missing_id", "missing_event")
    assert count_rows(db, dead_letters) == 1


def test_batch_context_and_integrations_are_merged_into_messages(client, source, db):
    res = send_batch(
        client,
        source,
        [{"type": "track", "userId": "u", "event": "A", "context": {"ip": "1.2.3.4"}, "integrations": {"X": False}}],
        context={"library": {"name": "sdk"}, "ip": "9.9.9.9"},
        integrations={"All": True},
    )
    assert res.status_code == 200
    with db.read() as conn:
        payload = conn.execute(sa.select(events.c.payload)).scalar_one()
    assert payload["context"] == {"library": {"name": "sdk"}, "ip": "1.2.3.4"}
    assert payload["integrations"] == {"All": True, "X": False}


def test_numeric_ids_become_strings_and_message_id_is_filled(client, source, db):
    res = send_batch(client, source, [{"type": "identify", "userId": 42, "anonymousId": 7.0}])
    assert res.status_code == 200
    with db.read() as conn:
        row = conn.execute(sa.select(events.c.payload, events.c.message_id)).one()
    assert row.payload["userId"] == "42" and row.payload["anonymousId"] == "7"
    assert row.message_id and row.payload["messageId"] == row.message_id


def test_timestamps_follow_the_segment_skew_correction(client, source, db):
    # The device clock runs one hour fast: sentAt and timestamp are both an hour ahead.
    res = send_batch(
        client,
        source,
        [{"type": "track", "userId": "u", "event": "A", "timestamp": "2030-01-01T11:00:00Z"}],
        sentAt="2030-01-01T11:00:05Z",
    )
    assert res.status_code == 200
    with db.read() as conn:
        row = conn.execute(sa.select(events.c.payload, events.c.timestamp, events.c.received_at)).one()
    assert row.payload["originalTimestamp"] == "2030-01-01T11:00:00Z"
    assert row.payload["sentAt"] == "2030-01-01T11:00:05Z"
    assert abs((row.received_at - row.timestamp).total_seconds() - 5) < 0.01


def test_timestamp_without_sent_at_is_kept_and_missing_is_received_at(client, source, db):
    send_batch(
        client,
        source,
        [
            {"type": "track", "userId": "u", "event": "Old", "timestamp": "1997-03-01"},
            {"type": "track", "userId": "u", "event": "Now"},
        ],
    )
    with db.read() as conn:
        rows = {r.event: r for r in conn.execute(sa.select(events.c.event, events.c.timestamp, events.c.received_at))}
    assert rows["Old"].timestamp.isoformat() == "1997-03-01T00:00:00+00:00"
    assert rows["Now"].timestamp == rows["Now"].received_at


def test_resent_batch_changes_no_count(client, source, db, admin_headers):
    batch = [{"type": "track", "userId": "u-r", "event": "A", "messageId": f"m-{i}"} for i in range(5)]
    first = send_batch(client, source, batch).json()
    again = send_batch(client, source, batch + [batch[0]]).json()
    assert first["accepted"] == 5 and first["duplicates"] == 0
    assert again["duplicates"] == 6
    assert count_rows(db, events) == 5
    assert profile_by(client, admin_headers, "user_id:u-r")["event_count"] == 5


def test_a_retry_sent_later_is_dropped_by_messageid_and_own_time(client, source, db):
    """SDKs resend the same messages, with a new sentAt: the skew-corrected time moves, the message's
    own time does not, and that with the messageId is what a retry repeats (ADR 0004)."""
    batch = [
        {"type": "track", "userId": "u-t", "event": "A", "messageId": f"t-{i}", "timestamp": f"2026-03-01T10:0{i}:00Z"}
        for i in range(3)
    ]
    first = send_batch(client, source, batch, sentAt="2026-03-01T10:05:00Z").json()
    retry = send_batch(client, source, batch, sentAt="2026-03-01T10:09:30Z").json()
    assert (first["accepted"], first["duplicates"]) == (3, 0)
    assert (retry["accepted"], retry["duplicates"]) == (3, 3)
    other = {**batch[0], "event": "B", "timestamp": "2026-03-02T00:00:00Z"}  # a new message reusing an id
    assert send_batch(client, source, [other]).json()["duplicates"] == 0
    assert count_rows(db, events) == 4


def test_same_message_id_from_two_sources_counts_twice(client, make_source, db):
    a, b = make_source("web"), make_source("mobile")
    msg = [{"type": "track", "userId": "u", "event": "A", "messageId": "same"}]
    send_batch(client, a, msg)
    send_batch(client, b, msg)
    assert count_rows(db, events) == 2


def test_rate_limit_answers_429_with_retry_after(client, make_source):
    src = make_source("web", rate_limit_per_s=10)
    batch = [{"type": "track", "userId": "u", "event": "A"} for _ in range(8)]
    assert send_batch(client, src, batch).status_code == 200
    res = send_batch(client, src, batch)
    assert res.status_code == 429
    assert int(res.headers["Retry-After"]) >= 1
    assert res.json()["code"] == "rate_limited"


def test_project_settings(client, source):
    res = client.get(f"/v1/projects/{source.write_key}/settings")
    assert res.status_code == 200
    assert res.json()["integrations"]["Segment.io"]["apiKey"] == source.write_key
    assert client.get("/v1/projects/unknown/settings").status_code == 401


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "track", "userId": "u", "event": "nul\u0000byte"}, "invalid_characters"),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "A",
                "timestamp": "9999-12-31T23:59:59Z",
                "sentAt": "1970-01-01T00:00:00Z",
            },
            "invalid_timestamp",
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "A",
                "timestamp": "0001-01-01T00:00:00Z",
                "sentAt": "9999-01-01T00:00:00Z",
            },
            "invalid_timestamp",
        ),
    ],
)
def test_values_no_store_can_hold_are_dead_lettered_not_500(client, source, db, message, code):
    res = send_batch(client, source, [message, {"type": "track", "userId": "u", "event": "Fine"}])
    assert res.status_code == 200, res.text
    assert res.json()["problems"][0]["code"] == code
    assert count_rows(db, events) == 1
    res = client.post("/v1/batch", content=b"\x00\xff{", headers={**basic_auth(source), "content-type": "text/plain"})
    assert res.status_code == 400
    assert count_rows(db, dead_letters) == 2


@pytest.mark.parametrize("gzipped", [False, True])
def test_text_segment_reads_is_read_as_segment_reads_it(client, source, db, gzipped):
    """A lone surrogate (a string cut inside an emoji) and invalid UTF-8 become U+FFFD, as in Segment's
    own API; they used to make the whole batch a 400, which SDKs drop without retrying."""
    body = (
        b'\xef\xbb\xbf{"batch": [{"type": "track", "userId": "u", "event": "Cut", "properties": {"s": "caf\\ud83d"}},'
        b' {"type": "track", "userId": "u", "event": "Latin-1", "properties": {"s": "Zo\xe9"}},'
        b' {"type": "track", "userId": "u", "event": "Fine"}]}'
    )
    headers = {**basic_auth(source), "content-type": "application/json"}
    if gzipped:
        body, headers = gzip.compress(body), {**headers, "content-encoding": "gzip"}
    res = client.post("/v1/batch", content=body, headers=headers)
    assert res.status_code == 200, res.text
    assert res.json()["accepted"] == 3
    with db.read() as conn:
        stored = {p["event"]: p.get("properties") for p in conn.execute(sa.select(events.c.payload)).scalars()}
    assert stored == {"Cut": {"s": "caf\ufffd"}, "Latin-1": {"s": "Zo\ufffd"}, "Fine": None}
    res = client.post(
        "/v1/t", content=b'{"userId": "u", "event": "One", "n": NaN}', headers=headers | {"content-encoding": ""}
    )
    assert (res.status_code, res.json()["code"]) == (400, "invalid_json")  # what Segment refuses stays refused


@pytest.mark.parametrize(
    ("envelope", "code"),
    [
        ({"context": _nest(70)}, "too_deep"),
        # Found by tests/api/test_tracking_fuzz.py: merged into each message after its own NUL check,
        # this answered 500 on PostgreSQL.
        ({"integrations": {"": "\u0000"}}, "invalid_characters"),
    ],
)
def test_batch_context_that_no_message_could_hold_is_400(client, source, db, envelope, code):
    res = send_batch(client, source, [{"type": "track", "userId": "u", "event": "A"}], **envelope)
    assert (res.status_code, res.json()["code"]) == (400, code)
    assert count_rows(db, events) == 0 and count_rows(db, dead_letters) == 1


def test_text_that_spells_a_nul_escape_is_kept(client, source, db):
    """Only a real NUL is refused: a backslash followed by "u0000" is ordinary text (a Windows path)."""
    message = {"type": "track", "userId": "u", "event": "A", "properties": {"path": "C:\\u0000", "b": "\\\\u0000"}}
    res = send_batch(client, source, [message])
    assert res.status_code == 200 and res.json()["accepted"] == 1 and not res.json().get("problems"), res.text
    with db.read() as conn:
        [payload] = conn.execute(sa.select(events.c.payload)).scalars().all()
    assert payload["properties"] == {"path": "C:\\u0000", "b": "\\\\u0000"}
    assert count_rows(db, dead_letters) == 0


def test_requests_are_held_while_profiles_lag_then_taken(client, source, db):
    assert send_batch(client, source, [{"type": "track", "userId": "u", "event": "A"}]).status_code == 200
    before = count_rows(db, events)
    gate = LagGate(lambda: 0, max_lag_s=0.01, hold_s=0.3)  # a processor that never catches up
    gate.acknowledged(10**9)
    time.sleep(0.02)
    client.app.state.lag_gate = gate
    started = time.monotonic()
    res = send_batch(client, source, [{"type": "track", "userId": "u", "event": "B"}])
    assert time.monotonic() - started >= 0.3  # held for the hold time
    assert res.status_code == 200  # and then taken: backpressure slows clients, never refuses them
    assert count_rows(db, events) == before + 1
