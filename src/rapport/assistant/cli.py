"""`rapport assistant train` and `rapport assistant evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rapport.assistant import deploy, evaluate, intents
from rapport.assistant.data import DataError
from rapport.assistant.embed import minilm_available
from rapport.kernel.commands import database, err, out, settings

commands = typer.Typer(
    name="assistant", help="The assistant's intent model: train it, evaluate it.", no_args_is_help=True
)

Shared = Annotated[
    Path | None,
    typer.Option("--shared", help="The shared data folder (banking77/, clinc150/); default ../shared/data."),
]
Lexical = Annotated[bool, typer.Option("--lexical", help="Train the TF-IDF model even where MiniLM is installed.")]


def _kind(lexical: bool) -> str | None:
    return intents.LEXICAL if lexical else None


@commands.command("train")
def train(shared: Shared = None, lexical: Lexical = False) -> None:
    """Train the intent model on Banking77 and the published articles' known questions, calibrate
    its out-of-scope threshold on CLINC150, and deploy it to the data directory."""
    db = database()
    try:
        kind = _kind(lexical) or (intents.MINILM if minilm_available() else intents.LEXICAL)
        err.print(f"Training the {kind} intent model (this takes minutes on a CPU) ...")
        meta = deploy.train_deployed(db, shared=shared, kind=kind, say=lambda text: err.print(f"  {text}"))
    except DataError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    out.print_json(json.dumps(meta))


@commands.command("evaluate")
def evaluate_command(
    data: Annotated[Path, typer.Option("--data", help="Evaluate on this file: CSV text,category or CLINC150 JSON.")],
    train_file: Annotated[
        Path | None,
        typer.Option("--train", help="First train a fresh model on this file (the deployed one is not touched)."),
    ] = None,
    shared: Shared = None,
    lexical: Lexical = False,
) -> None:
    """Accuracy and macro-F1 (and in-scope accuracy and out-of-scope recall where the data has
    out-of-scope examples) as one JSON line."""
    config = settings()
    cache = deploy.cache_for(config)
    try:
        model = None if train_file is not None else deploy.deployed(config)
        result = evaluate.evaluate_file(
            data, model, train_path=train_file, shared=shared, kind=_kind(lexical), cache=cache
        )
        cache.save()
    except DataError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except ValueError as exc:  # a training file sklearn cannot learn from (a single intent ...)
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    print(json.dumps(result))
