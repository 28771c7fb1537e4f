"""Alembic environment: the engine comes from `rapport.db.migrate` or RAPPORT_DATABASE_URL."""

from alembic import context

from rapport.contexts import metadata
from rapport.db.metadata import declared

config = context.config


def _engine():  # type: ignore[no-untyped-def]
    engine = config.attributes.get("engine")
    if engine is None:
        from rapport.db.engine import open_database
        from rapport.settings import load_settings

        engine = open_database(load_settings()).writer
    return engine


def run_migrations_online() -> None:
    with _engine().connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True, include_name=declared)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()


run_migrations_online()
