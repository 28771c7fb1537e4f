"""Cursors for paging a timeline newest first: the (time, event id) of the last row shown.

Parsed in one place and bounded: a cursor is text from a URL, so anything in it is the client's to
get wrong (an id past 64 bits, a time without a zone) and answers `invalid_cursor`, never a 500."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

import orjson

from rapport.db.metadata import MAX_ROW_ID
from rapport.kernel.errors import Invalid

MAX_CURSOR = 200


def encode_cursor(ts: datetime, event_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([ts.isoformat(), event_id])).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, id) a cursor names. Raises Invalid("invalid_cursor") for one this server did not make."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        ts, event_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        moment = datetime.fromisoformat(ts)
        if moment.tzinfo is None or isinstance(event_id, bool) or not isinstance(event_id, int):
            raise ValueError("naive time or an id that is not a whole number")
        if not 0 < event_id <= MAX_ROW_ID:
            raise ValueError("id out of range")
        return moment, event_id
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, UnicodeEncodeError):
        raise Invalid("invalid_cursor", "the cursor is not one this server made") from None
