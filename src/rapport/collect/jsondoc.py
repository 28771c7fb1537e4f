"""Reading request bodies as JSON the way Segment's own API does, and the nesting bound.

orjson refuses some text that Segment's Tracking API (Go's `encoding/json`) accepts: invalid UTF-8
and lone UTF-16 surrogates (a browser SDK that cut a string inside an emoji sends `"\\ud83d"`),
which Go reads as U+FFFD, and a leading byte order mark, which RFC 8259 lets a parser ignore.
Refusing them would answer 400 for the whole batch, which SDKs do not retry: one truncated string
would cost every event sent with it. So `decode` reads such text as Go does, and still refuses what
Go refuses (NaN, Infinity, a number out of a double's range, malformed JSON).

Nesting is bounded: orjson writes at most 254 levels, so a deeper message could be read but never
stored, and exports wrap payloads in a few more levels. `MAX_DEPTH` leaves that room.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 64  # objects and arrays inside one another in one message, the message itself counted
_SURROGATE = re.compile("[\ud800-\udfff]")
_CLIPPED = f"[nested deeper than {MAX_DEPTH} levels: left out]"


def decode(body: bytes | str) -> Any:
    """JSON text to Python values; raises orjson.JSONDecodeError (a ValueError) for what Go refuses."""
    if isinstance(body, bytes) and body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        strict = exc
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        value = json.loads(text, parse_constant=_refuse, parse_float=_double, parse_int=_integer)
    except (ValueError, RecursionError):
        raise strict from None
    return _repair(value)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _double(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of a double's range")
    return value


def _integer(text: str) -> int | float:
    """As orjson reads an integer: exact within 64 bits, else the nearest double."""
    value = int(text)
    return value if -(2**63) <= value < 2**64 else _double(text)


def _repair(value: Any) -> Any:
    """Each lone surrogate left in a string (valid pairs were joined by the parser) as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    stack: list[Any] = [value] if isinstance(value, dict | list) else []
    while stack:  # not recursive: a body may nest up to 1,024 levels, past Python's recursion limit
        node = stack.pop()
        for key in list(node) if isinstance(node, dict) else range(len(node)):
            item = node[key]
            if isinstance(item, str):
                node[key] = _SURROGATE.sub("\ufffd", item)
            elif isinstance(item, dict | list):
                stack.append(item)
            if isinstance(key, str) and _SURROGATE.search(key):
                node[_SURROGATE.sub("\ufffd", key)] = node.pop(key)
    return value


def deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels in `value` (itself counted)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for item in node.values() if isinstance(node, dict) else node:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
    return False


def too_deep(value: Any, encoded: bytes) -> bool:
    """`deeper_than(value, MAX_DEPTH)`, skipped when `encoded` (its JSON) holds too few brackets to
    nest that deep: the common case costs two byte counts."""
    return encoded.count(b"{") + encoded.count(b"[") > MAX_DEPTH and deeper_than(value, MAX_DEPTH)


def clip(value: Any, limit: int = MAX_DEPTH) -> Any:
    """A copy of `value` with what nests deeper than `limit` replaced by a note: storable by orjson."""
    if not isinstance(value, dict | list):
        return value
    if limit <= 0:
        return _CLIPPED
    if isinstance(value, dict):
        return {k: clip(v, limit - 1) for k, v in value.items()}
    return [clip(v, limit - 1) for v in value]


def dumps_anything(value: Any) -> str:
    """JSON text for a dead letter: whatever was sent, even what orjson cannot write (too deep, an
    integer past 64 bits, a lone surrogate), clipped where it nests too deep."""
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(clip(value), default=str)  # ASCII: a lone surrogate is written as its escape
