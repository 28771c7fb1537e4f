"""sources have a trust level; identifiers and traits say where they came from and how verified

A write key in a web page is public, yet what arrived with it was applied as if a server had
asserted it (docs/threat-model.md, docs/decisions/0010). Each source now has a trust level,
`client` (web, mobile, chat: a public key) or `server`; each identifier records the source that
first stated it and whether it was asserted (by a server source or staff) or proven by the
customer (a link mailed to it); a trait records whether a server source set it; a portal link
says whether it signs in or confirms an address.

Existing rows are migrated by channel: identifiers and traits first stated by a web, mobile or chat
source become claims, so an address that only a browser ever stated no longer opens the portal or
receives mail until it is confirmed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CLIENT_CHANNELS = "('web', 'mobile', 'chat')"


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite takes one with a default): a batch would copy `sources`, which the log references.
    op.add_column("sources", sa.Column("trust", sa.String(16), nullable=False, server_default="server"))
    op.execute(f"UPDATE sources SET trust = 'client' WHERE channel IN {CLIENT_CHANNELS}")

    op.add_column("identifiers", sa.Column("source_id", sa.Integer()))
    op.add_column("identifiers", sa.Column("verification", sa.String(16)))
    op.add_column("identifiers", sa.Column("verified_at", sa.DateTime(timezone=True)))
    op.add_column("identifiers", sa.Column("verified_by", sa.String(200)))
    op.execute("UPDATE identifiers SET source_id = (SELECT source_id FROM events WHERE events.id = identifiers.first_event_id)")
    op.execute(
        "UPDATE identifiers SET verification = 'asserted', verified_at = created_at, "
        "verified_by = 'source:' || (SELECT name FROM sources WHERE sources.id = identifiers.source_id) "
        "WHERE source_id IN (SELECT id FROM sources WHERE trust = 'server')"
    )

    op.add_column("profile_traits", sa.Column("asserted", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE profile_traits SET asserted = TRUE WHERE source_id IN (SELECT id FROM sources WHERE trust = 'server')")

    op.add_column("portal_links", sa.Column("kind", sa.String(16), nullable=False, server_default="sign_in"))
    op.add_column("portal_links", sa.Column("contact_point", sa.String(360)))


def downgrade() -> None:  # DROP COLUMN: SQLite has it since 3.35, and none of these is indexed or keyed
    for table, column in (
        ("portal_links", "contact_point"),
        ("portal_links", "kind"),
        ("profile_traits", "asserted"),
        ("identifiers", "verified_by"),
        ("identifiers", "verified_at"),
        ("identifiers", "verification"),
        ("identifiers", "source_id"),
        ("sources", "trust"),
    ):
        op.drop_column(table, column)
