"""The clock: time is timezone-aware UTC inside, converted at the edges."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
