"""Reading bodies as Segment's API reads them, and the nesting bound, pure."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import orjson
import pytest

from rapport.collect import jsondoc
from rapport.collect.model import Accepted, Envelope, EnvelopeError, Rejected, normalize_message, read_envelope

ENV = Envelope({}, {}, None, datetime(2026, 6, 1, 12, tzinfo=UTC))


def nest(levels: int) -> object:
    """Objects inside one another, `levels` deep (0: a scalar)."""
    value: object = 1
    for _ in range(levels):
        value = {"x": value}
    return value


def test_a_lone_surrogate_is_read_as_a_replacement_character_as_go_does():
    # What a browser SDK sends after cutting a string inside an emoji; a valid pair stays one character.
    body = b'{"cut": "caf\\ud83d", "whole": "\\ud83d\\ude00", "k\\udc00": 1, "list": ["\\udfff"]}'
    assert jsondoc.decode(body) == {"cut": "caf\ufffd", "whole": "\U0001f600", "k\ufffd": 1, "list": ["\ufffd"]}


def test_invalid_utf8_is_read_as_replacement_characters_and_a_bom_is_skipped():
    assert jsondoc.decode(b'{"name": "Zo\xe9"}') == {"name": "Zo\ufffd"}
    assert jsondoc.decode(codecs.BOM_UTF8 + b'{"a": 1}') == {"a": 1}
    assert jsondoc.decode('{"s": "\\ud800"}') == {"s": "\ufffd"}  # text, as JSON Lines files give it


@pytest.mark.parametrize(
    "body",
    [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400, "b": "\\ud800"}', b"{not json", b""],
)
def test_what_go_refuses_is_still_refused(body):
    with pytest.raises(orjson.JSONDecodeError):
        jsondoc.decode(body)


def test_integers_read_as_orjson_reads_them_on_either_path():
    strict = orjson.loads(b"[18446744073709551615, -9223372036854775808, 18446744073709551616, 1.5]")
    lenient = jsondoc.decode(b'[18446744073709551615, -9223372036854775808, 18446744073709551616, 1.5, "\\ud800"]')
    assert lenient[:4] == strict
    assert [type(v) for v in lenient[:4]] == [int, int, float, float]


def test_depth_counts_objects_and_arrays():
    assert not jsondoc.deeper_than(1, 0)
    assert jsondoc.deeper_than({}, 0) and not jsondoc.deeper_than({}, 1)
    assert not jsondoc.deeper_than(nest(64), 64)
    assert jsondoc.deeper_than([nest(64)], 64)
    wide = {"items": [{"a": [1]} for _ in range(100)]}  # many brackets, three levels
    assert not jsondoc.too_deep(wide, orjson.dumps(wide))


def _message(properties: object) -> dict:
    return {"type": "track", "userId": "u", "event": "E", "properties": properties}


@pytest.mark.parametrize("levels", [62, 63])
def test_a_message_may_nest_64_levels_with_itself(levels):
    wide = {"list": [{} for _ in range(70)], "deep": nest(levels)}  # enough brackets for the precise walk
    message = _message(wide)  # message 1 + properties 1 + `deep` chain
    assert jsondoc.deeper_than(message, 64) is (levels == 63)
    result = normalize_message(message, ENV)
    assert isinstance(result, Rejected if levels == 63 else Accepted)
    if levels == 63:
        assert result.code == "too_deep"


def test_a_message_deeper_than_orjson_writes_is_rejected_not_raised():
    result = normalize_message(_message(nest(300)), ENV)
    assert isinstance(result, Rejected) and result.code == "too_deep"
    stored = orjson.loads(jsondoc.dumps_anything(result.payload))  # a dead letter can hold it, clipped
    assert not jsondoc.deeper_than(stored, jsondoc.MAX_DEPTH + 1)
    assert stored["event"] == "E"


def test_a_value_no_store_can_write_is_rejected_with_its_reason():
    result = normalize_message(_message({"n": 2**70}), ENV)  # as an import's int column can give
    assert isinstance(result, Rejected) and result.code == "invalid_value"
    assert orjson.loads(jsondoc.dumps_anything(result.payload))["properties"]["n"] == 2**70


def test_a_boolean_message_id_is_refused_like_boolean_ids():
    result = normalize_message({**_message({}), "messageId": True}, ENV)
    assert isinstance(result, Rejected) and result.code == "invalid_id"


def test_batch_context_deeper_than_a_message_may_be_is_refused():
    with pytest.raises(EnvelopeError) as raised:
        read_envelope({"batch": [], "context": nest(64)}, ENV.received_at, True)
    assert raised.value.code == "too_deep"
    envelope, _ = read_envelope({"batch": [], "context": nest(63)}, ENV.received_at, True)
    assert isinstance(normalize_message({"type": "track", "userId": "u", "event": "E"}, envelope), Accepted)
