"""The demo's data: sources, an admin token, the CDNOW import, the stories sent over HTTP, and the
wait until the processor has turned them into profiles. Works against any running server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rapport.access.service import create_token
from rapport.collect.importer import ImportReport
from rapport.collect.service import Source, create_source, log_head
from rapport.collect.store import dead_letters, events
from rapport.db.engine import Database
from rapport.demo.cdnow import Purchase, import_purchases, read_purchases
from rapport.demo.people import Person
from rapport.demo.send import SendReport, send_plan
from rapport.demo.service import seed_service
from rapport.demo.shop import load_catalogue, open_the_shop, pick_shopper
from rapport.demo.stories import CALLS, EMAIL, MOBILE, WEB, plan_stories
from rapport.identity.model import Identifier
from rapport.identity.store import identifiers, merges, profiles
from rapport.profiles.processor import applied_offset
from rapport.profiles.service import find_by_identifier, load_profile
from rapport.voice.demo import seed_voice

SOURCES = (("store-pos", "store"), (WEB, "web"), (MOBILE, "mobile"), (EMAIL, "email"), (CALLS, "call_center"))


class DemoError(RuntimeError):
    pass


@dataclass
class DemoSummary:
    sources: dict[str, Source]
    admin_token: str
    purchases: ImportReport
    sent: SendReport
    counts: dict[str, int] = field(default_factory=dict)
    heroes: list[dict[str, Any]] = field(default_factory=list)  # person, profile id, channels, identifiers
    shared_email: dict[str, Any] | None = None  # the two user ids sharing one address, and their profiles
    timings: dict[str, float] = field(default_factory=dict)
    service: dict[str, Any] = field(default_factory=dict)  # the service desk's demo cases (demo/service.py)
    shop: dict[str, Any] | None = None  # the catalogue, the model trained on it, the hero's suggestion
    voice: dict[str, Any] = field(default_factory=dict)  # the survey answers seeded (voice/demo.py)


@dataclass
class Prepared:
    sources: dict[str, Source]
    admin_token: str
    purchases: list[Purchase]
    imported: ImportReport
    seconds: float


def prepare_demo(db: Database, console: Console, cdnow_limit: int | None = None) -> Prepared:
    """Sources, an admin token and the CDNOW purchases in the log; needs no server."""
    started = time.monotonic()
    sources = {name: create_source(db, name, channel, actor="demo") for name, channel in SOURCES}
    _, token = create_token(db, "admin", "demo admin", actor="demo")
    purchases = read_purchases(limit=cdnow_limit)
    load_catalogue(db)  # before the orders name the albums: the catalogue's names win
    with Progress(
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("importing CDNOW", total=len(purchases))
        imported = import_purchases(db, sources["store-pos"], purchases, lambda n: bar.advance(task, n))
    return Prepared(sources, token, purchases, imported, time.monotonic() - started)


def populate_demo(
    db: Database,
    prepared: Prepared,
    base_url: str,
    customers: int,
    console: Console,
    *,
    seed: int = 1997,
    catch_up_timeout_s: float = 600.0,
) -> DemoSummary:
    """Stories for `customers` of the imported customers sent to the server at `base_url`, then wait
    until its processor has built the profiles."""
    mark = time.monotonic()
    plan = plan_stories(prepared.purchases, customers, seed)
    sent = send_plan(plan, prepared.sources, base_url, console)
    timings = {"import": prepared.seconds, "send": time.monotonic() - mark}
    mark = time.monotonic()
    wait_for_processor(db, console, catch_up_timeout_s)
    timings["catch_up"] = time.monotonic() - mark
    mark = time.monotonic()
    shopper = pick_shopper(plan.people, prepared.purchases)
    shop = open_the_shop(db, base_url, prepared.sources[MOBILE], shopper.user_id) if shopper else None
    if shop is not None:
        shop["person"] = shopper
    timings["shop"] = time.monotonic() - mark
    timings["total"] = timings["import"] + timings["send"] + timings["catch_up"] + timings["shop"]
    summary = DemoSummary(prepared.sources, prepared.admin_token, prepared.imported, sent, timings=timings, shop=shop)
    with db.read() as conn:
        summary.counts = _counts(conn)
        summary.heroes = [_describe(conn, p) for p in plan.heroes]
        if plan.shared_email:
            first, second = (_describe(conn, p) for p in plan.shared_email)
            summary.shared_email = {"email": plan.shared_email[0].email, "first": first, "second": second}
    summary.service = seed_service(db, [h["profile_id"] for h in summary.heroes if h["profile_id"]])
    summary.voice = seed_voice(db)  # survey answers, follow-up cases and the scorecard (voice/demo.py)
    return summary


def build_demo_data(
    db: Database,
    base_url: str,
    customers: int,
    console: Console,
    *,
    cdnow_limit: int | None = None,
    seed: int = 1997,
    catch_up_timeout_s: float = 600.0,
) -> DemoSummary:
    """The whole demo data set against a server already running at `base_url` on this database."""
    prepared = prepare_demo(db, console, cdnow_limit)
    return populate_demo(db, prepared, base_url, customers, console, seed=seed, catch_up_timeout_s=catch_up_timeout_s)


def wait_for_processor(db: Database, console: Console, timeout_s: float, stall_s: float = 60.0) -> None:
    """Until the processor has applied everything in the log (the acknowledged messages included);
    a processor that makes no progress for `stall_s` is taken to be gone."""
    with db.read() as conn:
        head = log_head(conn)
    deadline = time.monotonic() + timeout_s
    last, moved = -1, time.monotonic()
    with Progress(
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("building profiles", total=head)
        while True:
            done = applied_offset(db)
            bar.update(task, completed=min(done, head))
            if done >= head:
                return
            now = time.monotonic()
            if done != last:
                last, moved = done, now
            if now > deadline or now - moved > stall_s:
                raise DemoError(
                    f"the processor has applied {done:,} of {head:,} events and is not moving; is it running?"
                )
            time.sleep(0.2)


def _counts(conn: sa.Connection) -> dict[str, int]:
    def count(table: sa.Table, *where: Any) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())

    return {
        "events": count(events),
        "profiles": count(profiles, profiles.c.canonical_id == profiles.c.id),
        "identifiers": count(identifiers),
        "merges": count(merges),
        "dead_letters": count(dead_letters),
    }


def _describe(conn: sa.Connection, person: Person) -> dict[str, Any]:
    profile_id = find_by_identifier(conn, Identifier("user_id", person.user_id))
    view = load_profile(conn, profile_id) if profile_id else None
    return {
        "person": person,
        "profile_id": view.id if view else None,
        "channels": view.channels if view else [],
        "identifiers": [f"{i['type']}:{i['value']}" for i in view.identifiers] if view else [],
        "events": view.event_count if view else 0,
    }
