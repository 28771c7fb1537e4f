"""Commands of what the words say: `rapport texts topics` (bring in new texts and rebuild the topics:
run it on a schedule, e.g. nightly from cron), `rapport texts train-sentiment`, and
`rapport voice evaluate --data FILE`.

`voice` is a group other commands of the voice context may join (issue 17 names the command so).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer

from rapport.kernel.commands import database, err, out, refused

texts = typer.Typer(name="texts", help="What customers write: sentiment and topics.", no_args_is_help=True)
voice = typer.Typer(name="voice", help="Voice of the customer: evaluate sentiment.", no_args_is_help=True)

MAX_EVALUATE_ROWS = 100_000


@texts.command("topics")
def topics_command(
    max_topics: Annotated[int, typer.Option(min=2, max=200, help="The most topics to find.")] = 30,
    threads: Annotated[int, typer.Option(min=1, max=64, help="CPU threads for the encoder.")] = 1,
    sync: Annotated[bool, typer.Option(help="Analyse new case messages first.")] = True,
) -> None:
    """Analyse what customers wrote on cases since the last run, then rebuild the topics from every
    kept text (survey answers, chats, mail, social mentions). Prints one JSON line."""
    import time

    from rapport.texts import encoder
    from rapport.texts.service import rebuild_topics, sync_case_messages

    db = database()
    started = time.perf_counter()
    encoder.use_threads(threads)
    with refused():
        synced = sync_case_messages(db) if sync else 0
        built = rebuild_topics(db, built_by="cli", max_topics=max_topics)
    built |= {"synced": synced, "seconds": round(time.perf_counter() - started, 1)}
    out.print(json.dumps(built, ensure_ascii=False), markup=False, soft_wrap=True)


@texts.command("train-sentiment")
def train_command(
    ground_truth: Annotated[
        Path | None, typer.Option(help="vaderSentiment-3.3.2.tar.gz, or its hutto_ICWSM_2014 folder.")
    ] = None,
) -> None:
    """Retrain the sentiment head on VADER's Amazon and NYT ground truth (the tweets and movie reviews
    are left for bench/voice.py) and write it into the package."""
    from rapport.texts.train import train_sentiment

    out.print(json.dumps(train_sentiment(source=ground_truth)), markup=False, soft_wrap=True)


def _read_labelled(path: Path) -> tuple[list[str], list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"text", "sentiment"} <= set(reader.fieldnames):
                raise ValueError("the file needs the columns text,sentiment")
            rows = []
            for number, row in enumerate(reader, start=2):
                label = (row["sentiment"] or "").strip().lower()
                if label not in ("negative", "neutral", "positive"):
                    raise ValueError(f"line {number}: sentiment must be negative, neutral or positive, not {label!r}")
                rows.append(((row["text"] or ""), label))
                if len(rows) > MAX_EVALUATE_ROWS:
                    raise ValueError(f"over {MAX_EVALUATE_ROWS} rows")
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"not a UTF-8 CSV file: {exc}") from None
    if not rows:
        raise ValueError("the file has no rows")
    return [t for t, _ in rows], [s for _, s in rows]


@voice.command("evaluate")
def evaluate_command(
    data: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, readable=True, help="CSV with columns text,sentiment.")
    ],
) -> None:
    """Score the shipped sentiment model on labelled texts: one JSON line with accuracy and macro-F1
    (and the model that answered, the rows, and per-class F1). Exit 2 when the file cannot be read."""
    from rapport.texts.evaluate import evaluate
    from rapport.texts.service import analyze

    try:
        texts_, labels = _read_labelled(data)
    except ValueError as exc:
        err.print(f"cannot evaluate: {exc}", markup=False)
        raise typer.Exit(2) from None
    answers = []
    for start in range(0, len(texts_), 256):
        answers += analyze(texts_[start : start + 256])
    report = evaluate(labels, [a.sentiment for a in answers]) | {"model": answers[0].model}
    out.print(json.dumps(report), markup=False, soft_wrap=True)
