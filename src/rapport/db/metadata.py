"""The one MetaData every context's `store.py` declares its tables on, and portable column types."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSON documents: JSONB on PostgreSQL, TEXT holding JSON on SQLite.
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MAX_ROW_ID = 2**63 - 1  # the largest BigId either database holds: ids from a request are bounded by it


def row_id(text: str) -> int | None:
    """The id a path segment names (ASCII digits, 1 to MAX_ROW_ID), or None when it names none."""
    if text.isascii() and text.isdigit() and 0 < len(text) <= 19 and 0 < int(text) <= MAX_ROW_ID:
        return int(text)
    return None


MAX_INT_ID = 2**31 - 1  # the largest Integer id (sources, staff tokens) PostgreSQL holds


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both backends (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Structures a store builds for itself that SQLAlchemy cannot declare (SQLite's FTS5 virtual tables
# and their shadow tables, PostgreSQL's tsvector table and trigram indexes): migrations create them
# under names starting with this, and autogenerate leaves them out of its comparison (`declared`).
NATIVE_PREFIX = "native_"


def declared(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name`: whether autogenerate compares this object with the models."""
    return not (name or "").startswith(NATIVE_PREFIX)
