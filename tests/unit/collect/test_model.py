"""The Segment message rules, pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rapport.collect.model import Accepted, Envelope, EnvelopeError, Rejected, iso, normalize_message, read_envelope
from rapport.db.bulk import sqlite_time

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ENV = Envelope({}, {}, None, NOW)


def test_skew_correction_uses_message_sent_at_over_batch():
    env = Envelope({}, {}, NOW - timedelta(hours=5), NOW)
    msg = {
        "type": "track",
        "userId": "u",
        "event": "E",
        "timestamp": "2026-06-01T14:00:00+02:00",
        "sentAt": "2026-06-01T12:00:10Z",
    }
    result = normalize_message(msg, env)
    assert isinstance(result, Accepted)
    assert result.timestamp == NOW - timedelta(seconds=10)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 6, 1, 12, 0, 0, 37000, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, tzinfo=UTC),  # no fraction: written without one, as isoformat does
        datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-7))),  # the next day in UTC
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # years below 1000 keep four digits
    ],
)
def test_times_are_written_as_isoformat_writes_them_in_utc(moment):
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    assert iso(moment) == utc.isoformat() + "Z"
    assert sqlite_time(moment) == utc.isoformat(" ", "microseconds")  # what SQLAlchemy stores on SQLite


def test_naive_timestamps_are_utc():
    result = normalize_message({"type": "page", "anonymousId": "a", "timestamp": "2026-01-01T00:00:00"}, ENV)
    assert result.timestamp == datetime(2026, 1, 1, tzinfo=UTC)


def test_message_id_is_kept_or_filled():
    assert normalize_message({"type": "page", "anonymousId": "a", "messageId": 5}, ENV).message_id == "5"
    filled = normalize_message({"type": "page", "anonymousId": "a", "messageId": " "}, ENV).message_id
    assert len(filled) == 36


def test_type_hint_overrides_body_type():
    assert normalize_message({"type": "track", "anonymousId": "a"}, ENV, type_hint="page").type == "page"


@pytest.mark.parametrize("size, ok", [(100, True), (2000, False)])
def test_size_limit(size, ok):
    result = normalize_message(
        {"type": "page", "anonymousId": "a", "properties": {"p": "x" * size}}, ENV, max_bytes=1024
    )
    assert isinstance(result, Accepted) is ok
    if not ok:
        assert isinstance(result, Rejected) and result.code == "message_too_large"


def test_envelope_errors():
    with pytest.raises(EnvelopeError):
        read_envelope({"batch": [], "sentAt": "never"}, NOW, batch=True)
    env, messages = read_envelope({"type": "page"}, NOW, batch=False)
    assert messages == [{"type": "page"}]
