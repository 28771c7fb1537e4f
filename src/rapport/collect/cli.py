"""Commands of collection: importing offline interactions, and the sources with their write keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.collect import model
from rapport.collect.service import (
    create_source,
    disable_source,
    list_sources,
    rotate_write_key,
    set_source_trust,
    source_by_name,
)
from rapport.kernel.commands import database, err, operator, out, refused

commands = typer.Typer()  # top-level: `rapport import`
admin = typer.Typer()  # `rapport admin ...`


@commands.command("import")
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

    db = database()
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


@admin.command("create-source")
def create_source_command(
    name: str,
    channel: Annotated[str, typer.Option(help=f"One of: {', '.join(model.CHANNELS)}.")],
    max_message_kb: Annotated[int, typer.Option(help="Largest message in KB.")] = 32,
    max_batch_kb: Annotated[int, typer.Option(help="Largest batch in KB (at most 4096).")] = 500,
    rate_limit: Annotated[int, typer.Option(help="Messages per second before 429.")] = 100_000,
    trust: Annotated[
        str | None,
        typer.Option(
            help="client: its key is public (web, mobile, chat), what it says is a claim; server: a secret key, "
            "it asserts. Default: client for web, mobile and chat, else server."
        ),
    ] = None,
) -> None:
    """Create a source; prints its write key as the last line."""
    db = database()
    with refused():
        source = create_source(
            db,
            name,
            channel,
            max_message_bytes=max_message_kb * 1024,
            max_batch_bytes=max_batch_kb * 1024,
            rate_limit_per_s=rate_limit,
            trust=trust,
            actor=operator(),
        )
    out.print(f"source {source.name} ({source.channel}, {source.trust} trust) created; write key:")
    print(source.write_key)


@admin.command("list-sources")
def list_sources_command() -> None:
    """List sources with their channels and write keys."""
    db = database()
    with db.read() as conn:
        for s in list_sources(conn):
            print(f"{s.name}\t{s.channel}\t{s.trust}\t{s.write_key}")


@admin.command("rotate-write-key")
def rotate_write_key_command(name: str) -> None:
    """Give a source a new write key (the old one stops working); prints it as the last line."""
    db = database()
    with refused():
        source = rotate_write_key(db, name, operator())
    out.print(f"source {source.name}: the old write key is refused from now on; new write key:")
    print(source.write_key)


@admin.command("set-source-trust")
def set_source_trust_command(
    name: str, trust: Annotated[str, typer.Argument(help=f"One of: {', '.join(model.TRUST_LEVELS)}.")]
) -> None:
    """Change how far a source is believed: `client` (public key, claims) or `server` (secret key, asserts)."""
    db = database()
    with refused():
        source = set_source_trust(db, name, trust, operator())
    out.print(f"source {source.name} is {source.trust} trust from its next event on")


@admin.command("disable-source")
def disable_source_command(name: str) -> None:
    """Refuse a source's write key from now on; what it sent stays."""
    db = database()
    with refused():
        disable_source(db, name, operator())
    out.print(f"source {name} disabled: its write key is refused from now on")
