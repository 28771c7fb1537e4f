"""The table of macros: agents' saved replies. They name no customer (a placeholder is filled in
when a macro is used), so they are not personal data."""

from __future__ import annotations

import sqlalchemy as sa

from rapport.db.metadata import BigId, JSONDoc, UTCDateTime, metadata

service_macros = sa.Table(
    "service_macros",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16)),  # the status the case takes when it is used; NULL: as the reply implies
    sa.Column("tags", JSONDoc, nullable=False),  # added to the case's tags
    sa.Column("internal", sa.Boolean, nullable=False),  # an internal note rather than a reply
    sa.Column("uses", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)
