"""The demo's help center and assistant: the bank knowledge base published before serving, the
chat widget on the help center with the web source's key, and the intent model trained in the
background once serving has started (or reused, when the data directory already holds one trained
on the same questions: a second `rapport demo` starts at once)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.console import Console

from rapport.assistant import data, deploy
from rapport.assistant.data import DataError
from rapport.assistant.embed import minilm_available
from rapport.db.engine import Database
from rapport.demo.bank_kb import publish_bank_kb


@dataclass
class AssistantStart:
    state: str  # reused | training | unavailable
    seconds: float = 0.0
    thread: threading.Thread | None = None
    note: str = ""


def start_help_center(db: Database, web_write_key: str, console: Console) -> str:
    """Publish the 77 bank articles; answers the write key the help center's widget uses."""
    started = time.monotonic()
    try:
        count = publish_bank_kb(db)
    except DataError as exc:
        console.print(f"[yellow]No bank help center: {exc}[/yellow]")
        return web_write_key
    console.print(f"Published {count} help articles in {time.monotonic() - started:.1f} s")
    return web_write_key


def train_assistant(db: Database, console: Console) -> AssistantStart:
    started = time.monotonic()
    try:
        examples = list(dict.fromkeys(data.banking77() + deploy.known_questions(db)))
    except DataError as exc:
        return AssistantStart("unavailable", note=str(exc))
    current = deploy.deployed(db.settings)
    same = current is not None and current.meta.get("fingerprint") == deploy.fingerprint(examples)
    if same and current is not None and (current.kind == "minilm" or not minilm_available()):
        return AssistantStart("reused", time.monotonic() - started, note=str(deploy.model_path(db.settings)))
    thread = deploy.train_in_background(db)
    return AssistantStart("training", time.monotonic() - started, thread)


def assistant_summary(console: Console, start: AssistantStart, base_url: str) -> None:
    if start.state == "reused":
        console.print(f"[bold]Assistant[/bold]  ready (the model in {start.note}, loaded in {start.seconds:.1f} s)")
    elif start.state == "training":
        kind = "MiniLM" if minilm_available() else "lexical"
        console.print(
            f"[bold]Assistant[/bold]  training the {kind} intent model in the background (minutes on a CPU; "
            f"until then chats go to a person). Progress: {base_url}/console/assistant"
        )
    else:
        console.print(f"[bold]Assistant[/bold]  not trained: {start.note}")
    console.print(f"[bold]Help center with the chat widget[/bold]  {base_url}/portal/help")
