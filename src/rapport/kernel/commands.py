"""What every context's commands share: the consoles, settings and database as a command opens them,
who runs it (for the audit log), and one way to refuse: a domain error's message and the exit code
its kind maps to (`rapport.kernel.errors.EXIT_CODE`), as the API maps it to a status."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from rapport.db.engine import Database, open_database
from rapport.db.migrate import head_revision, is_up_to_date, upgrade
from rapport.kernel.errors import EXIT_CODE, DomainError
from rapport.settings import Settings, SettingsError, load_settings

out = Console()
err = Console(stderr=True)


def settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@contextmanager
def refused() -> Iterator[None]:
    """A command's refusal (bad name, role, id ...): its message in red, and the exit code its kind
    maps to (`rapport.kernel.errors.EXIT_CODE`), as the API maps it to a status."""
    try:
        yield
    except DomainError as exc:
        err.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(EXIT_CODE.get(exc.kind, 1)) from None


def operator() -> str:
    """Who runs an admin command, for the audit log: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


def database(migrate: bool = True, **overrides: Any) -> Database:
    db = open_database(settings(**overrides))
    if migrate:
        upgrade(db)
    elif not is_up_to_date(db):
        err.print(f"[red]The database schema is not at {head_revision(db)}; run `rapport migrate` first.[/red]")
        raise typer.Exit(2)
    return db
