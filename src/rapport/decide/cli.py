"""Commands of decide: `rapport catalog import FILE` and `rapport decide train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.kernel.commands import database, err, out

# Two groups of commands, `rapport catalog ...` and `rapport decide ...`, named here.
catalog = typer.Typer(
    name="catalog", help="The catalogue of items: products, content and services.", no_args_is_help=True
)
decide = typer.Typer(name="decide", help="Recommendations: train the model.", no_args_is_help=True)


@catalog.command("import")
def import_catalog_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or JSON Lines file.")],
    encoding: Annotated[str, typer.Option(help="The file's text encoding, e.g. cp1252.")] = "utf-8",
) -> None:
    """Import items: columns id (or product_id, sku), name, category, kind (durable, consumable,
    content, service; durable when empty), price, available, help (title|url;... or a JSON list).
    An item imported again is replaced. Exit 1 when a row was rejected, 2 when nothing could be read."""
    from rapport.collect.importer import FileError, read_rows
    from rapport.decide.service import import_catalog

    db = database()
    try:
        rows, _prefix = read_rows(file, encoding)
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
        report = import_catalog(db, rows, progress=lambda n: bar.advance(task, n))
    out.print(f"rows: {report.rows}  imported: {report.imported}  rejected: {report.rejected}")
    for example in report.examples:
        out.print(f"  {example}", markup=False)
    if report.rejected:
        raise typer.Exit(1)


@decide.command("train")
def train_command() -> None:
    """Train the recommender on every item line of the log and store it; servers load it within a second."""
    from rapport.decide.training import train_model

    db = database()
    trained = train_model(db)
    if trained is None:
        out.print("Nothing to train on: no item was viewed, added or bought yet. No model stored.")
        raise typer.Exit(1)
    out.print(
        f"model {trained.version} ({trained.algorithm}): {trained.people} people, {trained.items} items, "
        f"{trained.interactions} interactions, {trained.seconds:.2f} s"
    )
