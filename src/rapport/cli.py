"""The `rapport` command: serve, migrate, import, demo and admin tasks."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.app import start_processor
from rapport.collect import model
from rapport.collect.service import (
    create_source,
    disable_source,
    list_sources,
    rotate_write_key,
    source_by_name,
)
from rapport.db.engine import Database, open_database
from rapport.db.migrate import head_revision, is_up_to_date, upgrade
from rapport.kernel.errors import EXIT_CODE, DomainError
from rapport.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    pass

app = typer.Typer(help="Rapport: customer experience management.", no_args_is_help=True, add_completion=False)
admin = typer.Typer(help="Administration: sources and their write keys, staff tokens.", no_args_is_help=True)
app.add_typer(admin, name="admin")
out = Console()
err = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@contextmanager
def _refused() -> Iterator[None]:
    """A command's refusal (bad name, role, id ...): its message in red, and the exit code its kind
    maps to (`rapport.kernel.errors.EXIT_CODE`), as the API maps it to a status."""
    try:
        yield
    except DomainError as exc:
        err.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(EXIT_CODE.get(exc.kind, 1)) from None


def _operator() -> str:
    """Who runs an admin command, for the audit log: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


def _database(migrate: bool = True, **overrides: Any) -> Database:
    db = open_database(_settings(**overrides))
    if migrate:
        upgrade(db)
    elif not is_up_to_date(db):
        err.print(f"[red]The database schema is not at {head_revision(db)}; run `rapport migrate` first.[/red]")
        raise typer.Exit(2)
    return db


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    db = _database(migrate=True)
    out.print(f"schema at {head_revision(db)}")


# How `serve` runs uvicorn (bench/_patched_serve.py's workers prototype runs it the same way).
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "http": "httptools",
    "loop": "uvloop",
    "timeout_keep_alive": 30,
}


def run_server(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import gc

    import uvicorn

    from rapport.app import create_app
    from rapport.profiles.processor import GC_THRESHOLDS

    processor = start_processor(settings)  # one processor, whatever the number of workers
    gc.set_threshold(*GC_THRESHOLDS)  # ingest allocates much and keeps little (see profiles.processor)
    try:
        if workers == 1:
            config = uvicorn.Config(create_app(settings), host=host, port=port, **UVICORN_OPTIONS)
            uvicorn.Server(config).run()
        else:
            # Each worker is a fresh (spawned) process that reads its settings from RAPPORT_* as this
            # one did; what `serve` decided itself must be in that environment too.
            os.environ["RAPPORT_PUBLIC_URL"] = settings.public_url
            uvicorn.run(
                "rapport.app:app_from_environment",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                **UVICORN_OPTIONS,
            )
    finally:
        if processor is not None:
            processor.stop()


def _refuse_workers(settings: Settings, workers: int) -> None:
    if workers > 1 and settings.is_sqlite:
        err.print(
            "[red]--workers needs PostgreSQL: SQLite has one writer, so more server processes would only wait "
            "for each other's write lock (bench/README.md).[/red]"
        )
        raise typer.Exit(2)
    if workers > 1 and settings.processor == "thread":
        err.print(
            "[red]RAPPORT_PROCESSOR=thread would run a processor in every worker; with --workers use process "
            "(the default) or off.[/red]"
        )
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Upgrade the schema first.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes sharing the port (PostgreSQL only); one processor.")
    ] = 1,
) -> None:
    """Serve the Tracking API, the staff API and the console."""
    _refuse_workers(_settings(), workers)
    db = _database(migrate=migrate)
    settings = db.settings
    db.dispose()
    if "public_url" not in settings.model_fields_set:  # links in emails point at this server
        settings = settings.model_copy(update={"public_url": f"http://{host}:{port}"})
    out.print(f"Rapport serving on http://{host}:{port} ({settings.database_url.split('://')[0]})")
    run_server(settings, host, port, workers)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or JSON Lines file.")],
    source: Annotated[str, typer.Option(help="Name of the source the rows come from.")],
    map_: Annotated[
        list[str], typer.Option("--map", help="target=column[:type], e.g. properties.revenue=amount:number")
    ] = [],  # noqa: B006
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", help='JSON: {"fields": {...}, "constants": {...}}')
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Message type for every row (e.g. track).")] = None,
    event: Annotated[str | None, typer.Option(help="Event name for every row (track).")] = None,
    encoding: Annotated[
        str, typer.Option(help="The file's text encoding, e.g. cp1252 for many POS exports.")
    ] = "utf-8",
) -> None:
    """Import offline interactions (store/POS, call centre, ...) through the same pipeline as the API."""
    from rapport.collect.importer import FileError, Mapping, MappingError, import_rows, read_rows

    db = _database()
    with db.read() as conn:
        src = source_by_name(conn, source)
    if src is None:
        err.print(f"[red]No source named {source!r}; create it with `rapport admin create-source`.[/red]")
        raise typer.Exit(2)
    specs, constants = list(map_), {}
    if mapping_file:
        try:
            spec = json.loads(mapping_file.read_text())
            specs += [f"{k}={v}" for k, v in spec.get("fields", {}).items()]
            constants.update(spec.get("constants", {}))
        except (OSError, ValueError, AttributeError) as exc:
            err.print(f"[red]Cannot read the mapping: {exc}[/red]")
            raise typer.Exit(2) from None
    constants.update({k: v for k, v in (("type", type_), ("event", event)) if v})
    try:
        mapping = Mapping.parse(specs, constants)
    except MappingError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        rows, id_prefix = read_rows(file, encoding)
    except FileError as exc:
        err.print(f"[red]Nothing imported: {exc}[/red]")
        raise typer.Exit(2) from None
    total = sum(1 for line in file.open("rb") if line.strip()) - (
        0 if file.suffix.lower() in (".jsonl", ".ndjson", ".json") else 1
    )
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    ) as bar:
        task = bar.add_task("rows", total=max(total, 0))
        report = import_rows(db, src, rows, mapping, id_prefix, progress=lambda n: bar.advance(task, n))
    counts = f"accepted: {report.accepted}  duplicates: {report.duplicates}  rejected: {report.rejected}"
    out.print(f"rows: {report.rows}  {counts}")
    for code, count in report.reasons.most_common():
        out.print(f"  rejected {count} x {code}")
    for example in report.examples:
        out.print(f"  {example}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    customers: Annotated[
        int, typer.Option(help="How many CDNOW customers also get web/mobile/email/call-centre activity.")
    ] = 3000,
    database: Annotated[Path, typer.Option(help="The demo's SQLite file (recreated).")] = Path("rapport-demo.db"),
) -> None:
    """A fresh demo database with real CDNOW purchases and multi-channel activity, then serve it."""
    from rapport.demo import run_demo

    run_demo(database=database, port=port, customers=customers, console=out)


@app.command("unsubscribe-mail")
def unsubscribe_mail(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="One email (RFC 5322); standard input if left out."
        ),
    ] = None,
) -> None:
    """Act on a mail sent to the `mailto:` unsubscribe address; for a mail server to pipe it to.

    Exit codes follow sysexits, as MTAs read them: 65 bounces a mail that is no valid request, 75
    makes the server try again later (the database could not be reached), 0 means withdrawn."""
    import sys

    import sqlalchemy as sa

    from rapport.consent.unsubscribe import unsubscribe_by_mail

    raw = file.read_bytes() if file else sys.stdin.buffer.read()
    try:
        target = unsubscribe_by_mail(_database(migrate=False), raw)
    except DomainError as exc:
        err.print(f"not an unsubscribe request: {exc.message}", markup=False)
        raise typer.Exit(65) from None
    except (sa.exc.OperationalError, typer.Exit) as exc:  # a bad setting or an old schema is said above
        err.print(f"cannot record it now; try again later: {getattr(exc, 'orig', '') or 'see above'}", markup=False)
        raise typer.Exit(75) from None
    out.print(f"{target.contact_point}: {target.purpose} by {target.channel} withdrawn")


@admin.command("create-source")
def create_source_command(
    name: str,
    channel: Annotated[str, typer.Option(help=f"One of: {', '.join(model.CHANNELS)}.")],
    max_message_kb: Annotated[int, typer.Option(help="Largest message in KB.")] = 32,
    max_batch_kb: Annotated[int, typer.Option(help="Largest batch in KB (at most 4096).")] = 500,
    rate_limit: Annotated[int, typer.Option(help="Messages per second before 429.")] = 100_000,
) -> None:
    """Create a source; prints its write key as the last line."""
    db = _database()
    with _refused():
        source = create_source(
            db,
            name,
            channel,
            max_message_bytes=max_message_kb * 1024,
            max_batch_bytes=max_batch_kb * 1024,
            rate_limit_per_s=rate_limit,
            actor=_operator(),
        )
    out.print(f"source {source.name} ({source.channel}) created; write key:")
    print(source.write_key)


@admin.command("list-sources")
def list_sources_command() -> None:
    """List sources with their channels and write keys."""
    db = _database()
    with db.read() as conn:
        for s in list_sources(conn):
            print(f"{s.name}\t{s.channel}\t{s.write_key}")


@admin.command("rotate-write-key")
def rotate_write_key_command(name: str) -> None:
    """Give a source a new write key (the old one stops working); prints it as the last line."""
    db = _database()
    with _refused():
        source = rotate_write_key(db, name, _operator())
    out.print(f"source {source.name}: the old write key is refused from now on; new write key:")
    print(source.write_key)


@admin.command("disable-source")
def disable_source_command(name: str) -> None:
    """Refuse a source's write key from now on; what it sent stays."""
    db = _database()
    with _refused():
        disable_source(db, name, _operator())
    out.print(f"source {name} disabled: its write key is refused from now on")


@admin.command("create-token")
def create_token_command(
    role: Annotated[str, typer.Option(help="admin, agent, marketer, analyst or privacy.")],
    name: Annotated[str | None, typer.Option(help="Who or what holds the token.")] = None,
) -> None:
    """Issue a staff API token; prints the token as the last line (it is not shown again)."""
    from rapport.access.service import create_token

    db = _database()
    with _refused():
        staff, token = create_token(db, role, name, actor=_operator())
    out.print(f"token for {staff.name} ({staff.role}):")
    print(token)


@admin.command("list-tokens")
def list_tokens_command() -> None:
    """List staff tokens: id, holder, role, when issued and revoked (tokens themselves are not kept)."""
    from rapport.access.service import list_tokens

    db = _database()
    with db.read() as conn:
        for t in list_tokens(conn):
            revoked = f"revoked {t['revoked_at']:%Y-%m-%d %H:%M}" if t["revoked_at"] else "active"
            print(f"{t['id']}\t{t['name']}\t{t['role']}\t{t['created_at']:%Y-%m-%d %H:%M}\t{revoked}")


@admin.command("revoke-token")
def revoke_token_command(token_id: Annotated[int, typer.Argument(help="The id `list-tokens` shows.")]) -> None:
    """Revoke a staff token at once: its API calls and console sessions stop working."""
    from rapport.access.service import revoke_token

    db = _database()
    with _refused():
        revoked = revoke_token(db, token_id, _operator())
    out.print(f"token {revoked['id']} ({revoked['name']}, {revoked['role']}) revoked", markup=False)


@admin.command("replay-unprocessable")
def replay_unprocessable(
    event: Annotated[
        list[int] | None, typer.Option("--event", help="Only this event (its log offset); repeat for more.")
    ] = None,
) -> None:
    """Apply the events the processor set aside (dead letters `unprocessable`), once their cause is
    fixed. Each that applies loses its dead letter; one that fails again stays set aside (exit 1)."""
    from rapport.profiles.poison import replay

    db = _database()
    done = replay(db, _operator(), event)
    for event_id in done.applied:
        print(f"{event_id}\tapplied")
    for event_id, error in done.failed:
        print(f"{event_id}\tstill set aside: {error}")
    out.print(f"{len(done.applied)} applied, {len(done.failed)} still set aside", markup=False)
    if done.failed:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
