"""The evaluation harness: quality of an intent model on any intent data set, measured only on
examples it never saw (`rapport assistant evaluate`).

accuracy and macro_f1: the in-scope examples, each read as the model's most likely intent (an
intent the model does not know counts as wrong). in_scope_accuracy: the same with the out-of-scope
rule applied (a rejected question counts as wrong); oos_recall: the out-of-scope examples rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

from rapport.assistant import data, intents
from rapport.assistant.data import DataError, IntentData
from rapport.assistant.embed import EmbeddingCache
from rapport.assistant.intents import IntentModel


def evaluation_split(dataset: IntentData) -> str:
    return "all" if "all" in dataset.splits or "all" in dataset.oos else dataset.evaluation_split()


def measure(
    model: IntentModel, examples: list[data.Example], oos: list[str], cache: EmbeddingCache | None
) -> dict[str, Any]:
    if not examples and not oos:
        raise DataError("nothing to evaluate on")
    result: dict[str, Any] = {"examples": len(examples)}
    if examples:
        predictions = model.predict_many([t for t, _ in examples], cache)
        truth = [label for _, label in examples]
        guessed = [p.intent or "" for p in predictions]
        result["accuracy"] = round(sum(a == b for a, b in zip(truth, guessed, strict=True)) / len(truth), 4)
        labels = sorted(set(truth))
        result["macro_f1"] = round(float(f1_score(truth, guessed, labels=labels, average="macro", zero_division=0)), 4)
        if oos:
            hits = sum(p.in_scope and p.intent == t for p, t in zip(predictions, truth, strict=True))
            result["in_scope_accuracy"] = round(hits / len(truth), 4)
    if oos:
        rejected = sum(not p.in_scope for p in model.predict_many(oos, cache))
        result["oos_examples"] = len(oos)
        result["oos_recall"] = round(rejected / len(oos), 4)
    return result


def train_from(
    dataset: IntentData, evaluated: str, *, shared: Path | None, kind: str | None, cache: EmbeddingCache | None
) -> IntentModel:
    """The shipped recipe on a file: its train split (all rows of a CSV), its out-of-scope examples
    (CLINC150's when it has none), the threshold chosen on its val split (held out of training
    otherwise), never on the split being evaluated."""
    split = "all" if "all" in dataset.splits else "train"
    examples = dataset.examples(split)
    oos_train, oos_val = dataset.out_of_scope(split), dataset.out_of_scope("val")
    if not oos_train and not oos_val:
        try:
            clinc = data.clinc150(shared)
            oos_train, oos_val = clinc.out_of_scope("train"), clinc.out_of_scope("val")
        except DataError:
            pass  # no out-of-scope examples anywhere: the threshold only keeps accuracy
    calibration = None
    if dataset.examples("val") and evaluated != "val" and split != "all":
        calibration = (dataset.examples("val"), oos_val)
    elif oos_val and split == "all":
        examples, held = data.stratified_split(examples, 0.1, intents.SEED)
        calibration = (held, oos_val)
    return intents.train(examples, oos_train, calibration=calibration, kind=kind, cache=cache)


def evaluate_file(
    data_path: Path,
    model: IntentModel | None,
    *,
    train_path: Path | None = None,
    shared: Path | None = None,
    kind: str | None = None,
    cache: EmbeddingCache | None = None,
) -> dict[str, Any]:
    dataset = data.read_intent_file(data_path)
    split = evaluation_split(dataset)
    if train_path is not None:
        training = data.read_intent_file(train_path)
        same = train_path.resolve() == data_path.resolve()
        if same and split in ("train", "all"):
            raise DataError("the file has no val or test split to evaluate on apart from what --train trains on")
        model = train_from(training, split if same else "", shared=shared, kind=kind, cache=cache)
    if model is None:
        raise DataError("no intent model is deployed: run `rapport assistant train`, or pass --train FILE")
    result = measure(model, dataset.examples(split), dataset.out_of_scope(split), cache)
    return {
        **result,
        "split": split,
        "model": model.kind,
        "threshold": round(model.threshold, 4),
        "trained": "fresh (--train)" if train_path is not None else "deployed",
    }
