"""Storage: the engine factory, the shared metadata, migrations and the personal-data registry."""

from rapport.db.engine import Database, open_database

__all__ = ["Database", "open_database"]
