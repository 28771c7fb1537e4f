"""Intent data sets as the assistant reads them: a CSV of `text,category` (Banking77's layout) or
CLINC150's JSON (keys `train`, `val`, `test`, `oos_train`, `oos_val`, `oos_test`, each a list of
`[text, intent]`; absent keys are fine). Out-of-scope examples are those labelled `oos`."""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

OOS = "oos"
SPLITS = ("train", "val", "test")
MAX_TEXT = 2000  # longer examples are cut: no customer question is longer


class DataError(ValueError):
    """A data file the assistant cannot read, with what is wrong."""


Example = tuple[str, str]  # text, intent


@dataclass
class IntentData:
    """Examples by split ('train', 'val', 'test'), in-scope and out-of-scope apart."""

    splits: dict[str, list[Example]] = field(default_factory=dict)
    oos: dict[str, list[str]] = field(default_factory=dict)

    def examples(self, split: str) -> list[Example]:
        return self.splits.get(split, [])

    def out_of_scope(self, split: str) -> list[str]:
        return self.oos.get(split, [])

    def evaluation_split(self) -> str:
        """What an evaluation reads: the test split if there is one, else val, else train."""
        for split in ("test", "val", "train"):
            if self.splits.get(split) or self.oos.get(split):
                return split
        raise DataError("the file has no examples")


def _clean(text: object, where: str) -> str:
    if not isinstance(text, str):
        raise DataError(f"{where}: a text must be a string")
    text = " ".join(text.replace("\x00", " ").split())[:MAX_TEXT]
    return text


def read_csv(path: Path) -> IntentData:
    """All rows are one split ('test' for evaluation, 'train' for training: the caller chooses)."""
    rows: list[Example] = []
    oos: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
                raise DataError(f"{path}: a CSV needs the columns text and category")
            for number, row in enumerate(reader, start=2):
                text, label = _clean(row["text"], f"{path}:{number}"), (row["category"] or "").strip()
                if not text or not label:
                    continue
                (oos.append(text) if label == OOS else rows.append((text, label)))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a CSV file ({exc})") from None
    if not rows and not oos:
        raise DataError(f"{path}: no examples")
    return IntentData({"all": rows}, {"all": oos})


def read_clinc(path: Path) -> IntentData:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise DataError(f"{path}: the JSON must be an object with keys such as train, val, oos_train")
    data = IntentData()
    for split in SPLITS:
        for key, oos in ((split, False), (f"oos_{split}", True)):
            pairs = document.get(key, [])
            if not isinstance(pairs, list):
                raise DataError(f"{path}: {key} must be a list of [text, intent]")
            for index, pair in enumerate(pairs):
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str)):
                    raise DataError(f"{path}: {key}[{index}] must be [text, intent]")
                text, label = _clean(pair[0], f"{path}: {key}[{index}]"), pair[1].strip()
                if not text or not label:
                    continue
                if oos or label == OOS:
                    data.oos.setdefault(split, []).append(text)
                else:
                    data.splits.setdefault(split, []).append((text, label))
    if not any(data.splits.values()) and not any(data.oos.values()):
        raise DataError(f"{path}: no examples under train, val, test or their oos_ keys")
    return data


def read_intent_file(path: Path) -> IntentData:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        return read_clinc(path)
    return read_csv(path)


def stratified_split(examples: Sequence[Example], share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(kept, held out): `share` of each intent held out (at least one where an intent has three or more)."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example[1]].append(example)
    rng = random.Random(seed)
    kept: list[Example] = []
    held: list[Example] = []
    for intent in sorted(by_intent):
        items = sorted(by_intent[intent])
        rng.shuffle(items)
        n = int(round(len(items) * share)) if len(items) >= 3 else 0
        n = max(n, 1) if len(items) >= 3 else 0
        held.extend(items[:n])
        kept.extend(items[n:])
    return kept, held


def shared_data_dir() -> Path:
    """`../shared/data` beside the working directory, as tests, benches and the demo find it."""
    return Path("..", "shared", "data").resolve()


def intent_slug(label: str) -> str:
    """A Banking77 intent as a help article's slug: two of its names (`Refund_not_showing_up`,
    `reverted_card_payment?`) are not slugs as published."""
    return label.strip().lower().rstrip("?")


def banking77(root: Path | None = None) -> list[Example]:
    path = (root or shared_data_dir()) / "banking77" / "train.csv"
    if not path.is_file():
        raise DataError(f"{path}: the Banking77 training data is not there (see ../shared/data/README.md)")
    return [(text, intent_slug(label)) for text, label in read_csv(path).examples("all")]


def clinc150(root: Path | None = None) -> IntentData:
    path = (root or shared_data_dir()) / "clinc150" / "data_train_val.json"
    if not path.is_file():
        raise DataError(f"{path}: the CLINC150 data is not there (see ../shared/data/README.md)")
    return read_clinc(path)
