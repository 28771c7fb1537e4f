"""Bulk statements at the driver level, for the hot paths that write thousands of rows a batch.

SQLAlchemy's per-value type processing costs more than SQLite's own work there (bench/processor.py),
so these statements go to the driver's executemany with values already in the stored form. The SQL
is written once with `?` placeholders and runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import Connection


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores for a UTC moment, so both write paths agree.

    Fixed width (always with microseconds), so stored moments also compare correctly as text."""
    if value.tzinfo is not UTC:  # parse_timestamp's and utcnow's values are UTC already
        value = value.astimezone(UTC)
    # From orjson's ISO text, which it writes in C: `"YYYY-MM-DDTHH:MM:SS[.ffffff]Z"`, quotes included.
    # Half the time of `isoformat` on this hot path (once per ingested event and per timeline row).
    text = orjson.dumps(value, option=orjson.OPT_UTC_Z)
    fraction = text[20:27] if value.microsecond else b".000000"
    return (text[1:11] + b" " + text[12:20] + fraction).decode()


@dataclass(frozen=True, slots=True)
class Json:
    """A value for a JSON column: every value there is stored serialized, strings and None too."""

    value: Any


def _sqlite_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or value is None:  # most values: no conversion
        return value
    if isinstance(value, datetime):
        return sqlite_time(value)
    if isinstance(value, Json):
        return orjson.dumps(value.value, option=orjson.OPT_NON_STR_KEYS).decode()
    return value


def _postgres_value(value: Any) -> Any:
    if isinstance(value, Json):
        from psycopg.types.json import Jsonb

        return Jsonb(value.value)
    return value


def _driver_sql(conn: Connection, sql: str) -> str:
    return sql if conn.dialect.name == "sqlite" else sql.replace("?", "%s")


def query(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Rows of `sql` (with `?` placeholders) as the driver gives them, without SQLAlchemy's type
    processing: on SQLite times are their stored text and JSON is text; on PostgreSQL, aware
    datetimes and decoded JSON."""
    return list(conn.exec_driver_sql(_driver_sql(conn, sql), tuple(params)).all())


def _converter(conn: Connection) -> Callable[[Any], Any]:
    return _sqlite_value if conn.dialect.name == "sqlite" else _postgres_value


def stored(conn: Connection, value: Any) -> Any:
    """A value in the form the driver takes, as `executemany` would convert it."""
    return _converter(conn)(value)


def executemany(conn: Connection, sql: str, rows: Sequence[Sequence[Any]], *, as_given: bool = False) -> None:
    """Run `sql` (with `?` placeholders) once per row, in the caller's transaction.

    `as_given`: the values are already what the driver takes (see `stored`; times as `query`
    returned them), so they are passed without a conversion pass."""
    if not rows:
        return
    if not as_given:
        convert = _converter(conn)
        rows = [tuple(map(convert, row)) for row in rows]
    conn.exec_driver_sql(_driver_sql(conn, sql), rows)
