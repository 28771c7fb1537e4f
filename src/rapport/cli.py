"""The `rapport` command: serve, migrate, demo and replaying what consumers set aside here; each
context's own commands (import, sources, tokens, unsubscribe mail) come from its entry in
`rapport.contexts`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from rapport import contexts
from rapport.app import start_processor
from rapport.db.migrate import head_revision
from rapport.kernel import commands
from rapport.kernel.commands import database, err, operator, out
from rapport.settings import Settings

app = typer.Typer(help="Rapport: customer experience management.", no_args_is_help=True, add_completion=False)
admin = typer.Typer(help="Administration: sources and their write keys, staff tokens.", no_args_is_help=True)
app.add_typer(admin, name="admin")
for context in contexts.CONTEXTS:
    for group in context.commands:
        app.add_typer(group)
    for group in context.admin_commands:
        admin.add_typer(group)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    db = database(migrate=True)
    out.print(f"schema at {head_revision(db)}")


# How `serve` runs uvicorn (bench/_patched_serve.py's workers prototype runs it the same way); the
# HTTP protocol and its timeouts come from the settings (uvicorn_options).
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "loop": "uvloop",
}


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's httptools protocol, bounded (rapport.kernel.connections): head size, head and body
    deadlines, idle keep-alive and a connection cap the process's file limit can hold."""
    from rapport.kernel.connections import ConnectionLimits, connection_cap, protocol_for, raise_file_limit

    limits = ConnectionLimits(
        max_header_bytes=settings.http_max_header_bytes,
        header_timeout_s=settings.http_header_timeout_s,
        body_timeout_s=settings.http_body_timeout_s,
        max_connections=connection_cap(settings.http_max_connections, raise_file_limit()),
    )
    return {**UVICORN_OPTIONS, "http": protocol_for(limits), "timeout_keep_alive": settings.http_keep_alive_s}


def run_server(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import gc

    import uvicorn

    from rapport.app import create_app
    from rapport.collect.consumer import GC_THRESHOLDS

    options = uvicorn_options(settings)
    processor = start_processor(settings)  # one processor, whatever the number of workers
    gc.set_threshold(*GC_THRESHOLDS)  # ingest allocates much and keeps little (see collect.consumer)
    try:
        if workers == 1:
            config = uvicorn.Config(create_app(settings), host=host, port=port, **options)
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
                **options,
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
    smtp_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Also receive customers' mail by SMTP on this port.")
    ] = None,
) -> None:
    """Serve the Tracking API, the staff API and the console (and inbound mail, with --smtp-port)."""
    _refuse_workers(commands.settings(), workers)
    db = database(migrate=migrate)
    settings = db.settings
    db.dispose()
    if "public_url" not in settings.model_fields_set:  # links in emails point at this server
        settings = settings.model_copy(update={"public_url": f"http://{host}:{port}"})
    out.print(f"Rapport serving on http://{host}:{port} ({settings.database_url.split('://')[0]})")
    listener = _smtp_listener(settings, host, smtp_port) if smtp_port else None
    try:
        run_server(settings, host, port, workers)
    finally:
        if listener is not None:
            listener.stop()


def _smtp_listener(settings: Settings, host: str, port: int) -> Any:
    from rapport.db.engine import open_database
    from rapport.service.smtp import start_listener

    listener = start_listener(open_database(settings), host, port)
    out.print(f"Receiving customers' mail by SMTP on {host}:{port} (service desk)")
    return listener


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


@admin.command("replay-unprocessable")
def replay_unprocessable(
    event: Annotated[
        list[int] | None, typer.Option("--event", help="Only this event (its log offset); repeat for more.")
    ] = None,
    consumer: Annotated[
        str | None, typer.Option(help="Only what this consumer set aside (e.g. profiles); default: every consumer.")
    ] = None,
) -> None:
    """Apply the events consumers set aside (dead letters `unprocessable`), once their cause is fixed,
    for the consumer that set each aside. Each that applies loses its dead letter; one that fails
    again stays set aside (exit 1)."""
    from rapport.collect.poison import replay

    kinds = contexts.CONSUMERS
    if consumer is not None:
        named = contexts.consumer_named(consumer)
        if named is None:
            known = ", ".join(kind.name for kind in contexts.CONSUMERS)
            err.print(f"no consumer is named {consumer!r}; the consumers are: {known}", markup=False)
            raise typer.Exit(2)
        kinds = (named,)
    db = database()
    done = replay(db, kinds, operator(), event)
    for event_id, name in done.applied:
        print(f"{event_id}\tapplied\t{name}")
    for event_id, name, error in done.failed:
        print(f"{event_id}\tstill set aside\t{name}\t{error}")
    out.print(f"{len(done.applied)} applied, {len(done.failed)} still set aside", markup=False)
    if done.failed:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
