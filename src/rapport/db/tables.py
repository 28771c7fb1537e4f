"""Imports every context's tables so `metadata` is complete (for Alembic and tests)."""

from rapport.access import store as access_store  # noqa: F401
from rapport.collect import store as collect_store  # noqa: F401
from rapport.consent import store as consent_store  # noqa: F401
from rapport.db.metadata import metadata
from rapport.identity import store as identity_store  # noqa: F401
from rapport.outbound import store as outbound_store  # noqa: F401
from rapport.profiles import store as profiles_store  # noqa: F401

__all__ = ["metadata"]
