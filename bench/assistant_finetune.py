"""Would fine-tuning the encoder lift the assistant's intent accuracy? (issue 16: goal 0.94)

The same split as bench/assistant.py: a fixed, stratified 20% of Banking77's training file held out.
all-MiniLM-L6-v2 (float, from its wheel) is fine-tuned on the other 80% plus CLINC150's out-of-scope
training examples as a 78th class: mean pooling, a linear head, cross-entropy with label smoothing
0.1, AdamW with a one-cycle schedule (encoder 1e-4, head 1e-2), batch 32, --epochs epochs. Reported
on the held-out 20%, beside the shipped recipe (frozen encoder + TF-IDF, logistic regression)
trained in the same run on the same 80%:

- the fine-tuned model alone (argmax of its head);
- the shipped recipe;
- the average of the two models' probabilities (the ratio's numerator; the shipped recipe is the
  baseline).

    nice .venv/bin/python bench/assistant_finetune.py [--epochs 3] [--threads 2]

About 3–4 minutes per epoch on an idle 2-core box. Measured 2026-12-04 (3 epochs, 9.9 min of
fine-tuning), with the recipe of the time (calibrated on CLINC150's out-of-scope validation
examples, not fit again afterwards): shipped 0.9204, fine-tuned alone 0.9169, the two averaged
0.9259 (1.0065x the shipped). The recipe now fits again after calibrating (0.9234 on this split,
bench/assistant.py); this bench trains it as bench/assistant.py does and was not run again. The
shipped recipe did not adopt fine-tuning: 0.6 points for a second encoder in memory, twice the
latency and ten more minutes of training, and still under the 0.94 goal.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

os.environ.setdefault("RAPPORT_ENCODER", "float")  # fine-tuning needs the float weights

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rapport.assistant import data, intents  # noqa: E402
from rapport.assistant.embed import EmbeddingCache  # noqa: E402
from rapport.assistant.evaluate import measure  # noqa: E402
from rapport.kernel import encoder  # noqa: E402

SEED = 16  # bench/assistant.py's split


class Classifier(torch.nn.Module):
    def __init__(self, bert: torch.nn.Module, classes: int) -> None:
        super().__init__()
        self.bert = bert
        self.head = torch.nn.Linear(encoder.DIMENSIONS, classes)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
        return self.head(pooled * 20)


def fine_tune(texts: list[str], labels: list[int], classes: int, epochs: int) -> tuple[Classifier, object]:
    model = encoder.model()
    tokenizer = model.tokenizer
    clf = Classifier(model[0].auto_model, classes)
    batch = 32
    steps = epochs * ((len(texts) + batch - 1) // batch)
    optimizer = torch.optim.AdamW(
        [{"params": clf.bert.parameters(), "lr": 1e-4}, {"params": clf.head.parameters(), "lr": 1e-2}],
        weight_decay=0.01,
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[1e-4, 1e-2], total_steps=steps, pct_start=0.1)
    rng = random.Random(0)
    clf.train()
    for _ in range(epochs):
        order = list(range(len(texts)))
        rng.shuffle(order)
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            encoded = tokenizer(
                [texts[i] for i in chosen], padding=True, truncation=True, max_length=64, return_tensors="pt"
            )
            loss = torch.nn.functional.cross_entropy(
                clf(encoded), torch.tensor([labels[i] for i in chosen]), label_smoothing=0.1
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    clf.eval()
    return clf, tokenizer


def probabilities(clf: Classifier, tokenizer: object, texts: list[str]) -> np.ndarray:
    rows = []
    with torch.no_grad():
        for start in range(0, len(texts), 128):
            encoded = tokenizer(  # type: ignore[operator]
                texts[start : start + 128], padding=True, truncation=True, max_length=64, return_tensors="pt"
            )
            rows.append(torch.softmax(clf(encoded), -1).numpy())
    return np.concatenate(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    train, held = data.stratified_split(data.banking77(), 0.2, SEED)
    oos = data.clinc150().out_of_scope("train")
    cache = EmbeddingCache(None)

    shipped = intents.train(train, oos, kind=intents.MINILM, cache=cache)  # as bench/assistant.py trains it
    texts, gold = [t for t, _ in held], [label for _, label in held]
    p_shipped = shipped.probabilities(texts, cache)
    classes = [str(c) for c in shipped.classifier.classes_]

    torch.set_num_threads(args.threads)  # after the encoder's load, which sets one thread
    index = {c: i for i, c in enumerate(classes)}
    started = time.monotonic()
    clf, tokenizer = fine_tune(
        [t for t, _ in train] + oos,
        [index[label] for _, label in train] + [index[data.OOS]] * len(oos),
        len(classes),
        args.epochs,
    )
    minutes = (time.monotonic() - started) / 60
    p_tuned = probabilities(clf, tokenizer, texts)

    def accuracy(p: np.ndarray) -> float:
        return round(float(np.mean([classes[i] == g for i, g in zip(p.argmax(1), gold, strict=True)])), 4)

    both = (p_shipped + p_tuned) / 2
    print(
        json.dumps(
            {
                "held_out": len(held),
                "epochs": args.epochs,
                "fine_tune_minutes": round(minutes, 1),
                "shipped_recipe": measure(shipped, held, [], cache)["accuracy"],
                "fine_tuned_alone": accuracy(p_tuned),
                "averaged": accuracy(both),
                "averaged_vs_shipped": round(accuracy(both) / max(1e-9, accuracy(p_shipped)), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
