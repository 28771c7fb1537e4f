"""`rapport demo` itself: a fresh SQLite database, the server and the processor, the data, the
summary of how to look around, and serving until Ctrl-C.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from rapport.db.engine import Database, open_database
from rapport.db.migrate import upgrade
from rapport.demo.bank_help import assistant_summary, start_help_center, train_assistant
from rapport.demo.build import DemoError, DemoSummary, populate_demo, prepare_demo
from rapport.demo.cdnow import DatasetMissing, cdnow_path
from rapport.demo.people import Person
from rapport.demo.stories import WEB
from rapport.settings import Settings, SettingsError, load_settings


def print_summary(console: Console, summary: DemoSummary, base_url: str) -> None:
    c, t, s = summary.counts, summary.timings, summary.sent

    def say(text: str = "") -> None:
        console.print(text, soft_wrap=True)  # long lines stay whole, so tokens and commands copy cleanly

    say()
    say(
        f"[bold]Rapport demo ready[/bold] in {t['total']:.0f} s "
        f"(import {t['import']:.0f} s, sending {t['send']:.0f} s, profiles {t['catch_up']:.0f} s)"
    )
    say(
        f"  CDNOW purchases imported: {summary.purchases.accepted:,} "
        f"(duplicates {summary.purchases.duplicates}, rejected {summary.purchases.rejected})"
    )
    say(
        f"  messages sent with analytics-python: {sum(s.sent.values()):,} "
        f"({', '.join(f'{k} {v:,}' for k, v in s.sent.items())}); failed {s.failed}, dropped {s.dropped}"
    )
    for error in s.errors:
        say(f"    [red]{escape(error)}[/red]")
    say(
        f"  events {c['events']:,} · profiles {c['profiles']:,} · identifiers {c['identifiers']:,} · "
        f"merges {c['merges']:,} · dead letters {c['dead_letters']:,}"
    )
    if summary.voice:
        v = summary.voice
        say(
            f"  survey answers {v['survey_answers']:,} · follow-up cases {v['follow_up_cases']:,}"
            f" · texts: {v['texts_from']}"
        )
    say()
    say(f"[bold]Console[/bold]  {base_url}/console/sign-in")
    say(f"[bold]Admin token[/bold]  {summary.admin_token}")
    say("[bold]Write keys[/bold]")
    for name, source in summary.sources.items():
        say(f"  {name:<12} {source.channel:<12} {source.write_key}")
    say("[bold]Customers worth opening[/bold]")
    for hero in summary.heroes:
        p: Person = hero["person"]
        say(
            f"  {p.name} <{p.email}> {p.user_id}: {len(hero['identifiers'])} identifiers, {hero['events']} events, "
            f"{', '.join(hero['channels'])}  {base_url}/console/profiles/{hero['profile_id']}"
        )
    if summary.shop:
        shop = summary.shop
        trained = shop["model"]
        say(
            f"  Recommendations: {shop['items']} albums, model {trained.version if trained else 'not trained'} "
            f"trained in {shop['train_s']:.1f} s on {trained.interactions if trained else 0:,} CDNOW order lines"
        )
        say(
            f"  Open {shop['person'].name} <{shop['person'].email}> for decide: owns {shop['owned']} albums, "
            "recommendations with reasons, "
            f"a pending suggestion ({'; '.join(shop['questions']) or 'none'})  "
            f"{base_url}/console/profiles/{shop['profile_id']}"
        )
    if summary.shared_email:
        first, second = summary.shared_email["first"], summary.shared_email["second"]
        say(
            f"  Two customer ids, one address ({summary.shared_email['email']}): "
            f"{first['person'].user_id} -> {first['profile_id']}, "
            f"{second['person'].user_id} -> {second['profile_id']} (one user_id per profile: not merged)"
        )
    if summary.heroes:
        email = summary.heroes[0]["person"].email
        say("[bold]Staff API[/bold]")
        say(
            f"  curl -H 'Authorization: Bearer {summary.admin_token}' "
            f"'{base_url}/api/v1/profiles?identifier=email:{email}'"
        )
        say(
            f"[bold]Customer portal[/bold]  {base_url}/portal/sign-in as {email} "
            "(in demo mode the sign-in link is printed here)"
        )
    if summary.service:
        say("[bold]Service desk[/bold]")
        say(f"  queue {base_url}/console/service · parity {base_url}/console/service/parity")
        say(f"  how to reach us (public) {base_url}/portal/channels · {base_url}/v1/channels")
    say("\nPress Ctrl-C to stop.")


def _check_port(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DemoError(
                f"port {port} on 127.0.0.1 is not free ({exc.strerror}); stop what uses it or pass --port"
            ) from None


def _start_server(settings: Settings, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    from rapport.app import create_app

    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="rapport-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise DemoError(f"the server could not start on 127.0.0.1:{port}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as res:
                if res.status == 200:
                    return server, thread
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    server.should_exit = True
    raise DemoError(f"the server on 127.0.0.1:{port} did not become healthy in 30 s")


def _preflight(port: int, customers: int) -> None:
    """Everything that can be wrong before a long import, checked first."""
    if customers < 0:
        raise DemoError("--customers cannot be negative")
    cdnow_path()
    if importlib.util.find_spec("segment") is None or importlib.util.find_spec("segment.analytics") is None:
        raise DemoError("the demo sends with the official Segment library: pip install 'rapport[demo]'")
    if load_settings().processor == "off":
        raise DemoError("the demo needs the event processor: unset RAPPORT_PROCESSOR=off")
    _check_port(port)


def fresh_database(database: Path, port: int) -> Database:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    overrides: dict[str, Any] = {"database_url": f"sqlite:///{database.resolve()}", "demo": True}
    if "RAPPORT_PUBLIC_URL" not in os.environ:  # links the portal mails must lead to this server
        overrides["public_url"] = f"http://127.0.0.1:{port}"
    settings = load_settings(**overrides)
    db = open_database(settings)
    upgrade(db)
    return db


def run_demo(database: Path, port: int, customers: int, console: Console) -> None:
    """Recreate the demo database, serve it on 127.0.0.1:port, fill it, and serve until Ctrl-C."""
    from rapport.app import start_processor

    try:
        _preflight(port, customers)
    except (DemoError, DatasetMissing, SettingsError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise SystemExit(2) from None
    console.print(f"Creating the demo database {database} ...")
    db = fresh_database(database, port)
    base_url = f"http://127.0.0.1:{port}"
    processor, server, thread = None, None, None
    try:
        started = time.monotonic()
        # The import goes in before the processor starts: both want SQLite's one write lock, and
        # the import alone is several times faster than the two interleaved.
        prepared = prepare_demo(db, console)
        chat_key = start_help_center(db, prepared.sources[WEB].write_key, console)
        processor = start_processor(db.settings)
        server, thread = _start_server(db.settings.model_copy(update={"help_chat_write_key": chat_key}), port)
        assistant = train_assistant(db, console)  # in the background, after serving starts
        summary = populate_demo(db, prepared, base_url, customers, console)
        summary.timings["total"] = time.monotonic() - started
        print_summary(console, summary, base_url)
        assistant_summary(console, assistant, base_url)
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        console.print("\nStopping ...")
    except DemoError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise SystemExit(1) from None
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
        if processor is not None:
            processor.stop()
        db.dispose()
