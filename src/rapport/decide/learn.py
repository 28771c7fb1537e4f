"""The recommender: learned from implicit feedback (who bought or viewed what), served from memory.

Pure numerics over numpy and scipy: the same functions train the model `rapport decide train`
stores and the one `bench/decide_quality.py` measures against popularity, item-kNN, implicit's ALS
and a personal buy-again list, so the figure is the shipped model's.

The model is EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): a closed-form item-to-item
weight matrix `B = I - P / diag(P)`, `P = (XᵀX + λI)⁻¹`, pruned to each item's strongest
neighbours so it stays small in memory and every score can name the purchase it came from ("because
you bought X"). Above `EASE_MAX_ITEMS` items the dense inverse would cost too much memory and time,
and cosine item-kNN (the same shape of model) takes its place. Only items at least `min_support`
people interacted with enter the model: a pair bought by one person would otherwise tell another
customer what that one person bought.

A person's own repeat purchases (buy-again) add to the score of consumables, weighted by how often
they bought each, how recently (each purchase counts less for every order of theirs since) and how due
it is: on groceries that list is far ahead of every collaborative model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

EASE_MAX_ITEMS = 12_000  # a dense float64 inverse of 12,000 items is 1.15 GB while it is computed
# Chosen on MovieLens and the Instacart sample (bench/decide_quality.py): λ 500 over 200, 200
# neighbours over 100 (+0.005 Recall@10 each); a half-life of 10 history items over none (+0.02).
DEFAULT_L2 = 500.0
DEFAULT_NEIGHBOURS = 200
DEFAULT_MIN_SUPPORT = 3
HALF_LIFE = 10.0  # the person's newest purchases count most: the 10th newest counts half
AGAIN_WEIGHT = 10.0  # a repeat purchase outranks anything collaborative: that only breaks ties and fills
# Each later order of the person's makes an earlier purchase count this much less. Chosen on a
# validation split (each Instacart person's next-to-last order; 1.0, 0.95, 0.9, 0.85, 0.8, 0.7 gave
# Recall@10 0.440, 0.467, 0.476, 0.484, 0.479, 0.468, plain buy-again 0.447), reported on the last order.
AGAIN_DECAY = 0.85


@dataclass(frozen=True)
class Params:
    l2: float = DEFAULT_L2
    neighbours: int = DEFAULT_NEIGHBOURS
    min_support: int = DEFAULT_MIN_SUPPORT
    again_weight: float = AGAIN_WEIGHT
    again_decay: float = AGAIN_DECAY
    half_life: float = HALF_LIFE


@dataclass
class Model:
    """What serving needs: item ids, the pruned item-to-item weights (row = a history item, column
    = the item it recommends), each item's popularity (distinct people) and the algorithm used."""

    item_ids: list[str]
    weights: sp.csr_matrix
    popularity: np.ndarray
    algorithm: str
    params: Params = field(default_factory=Params)
    intervals: np.ndarray | None = None  # days between repeat purchases, per item (the population's; nan: unknown)
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {item: i for i, item in enumerate(self.item_ids)}

    @property
    def size(self) -> int:
        return len(self.item_ids)


def interaction_matrix(users: Sequence[int], items: Sequence[int], n_users: int, n_items: int) -> sp.csr_matrix:
    """Binary user x item matrix: implicit feedback counts whether, not how often."""
    data = np.ones(len(users), dtype=np.float64)
    matrix = sp.csr_matrix((data, (np.asarray(users), np.asarray(items))), shape=(n_users, n_items))
    matrix.data[:] = 1.0  # duplicates were summed
    return matrix


def supported_items(x: sp.csr_matrix, min_support: int) -> np.ndarray:
    """Columns with at least `min_support` distinct users."""
    return np.flatnonzero(np.asarray((x > 0).sum(axis=0)).ravel() >= min_support)


def ease_weights(x: sp.csr_matrix, l2: float) -> np.ndarray:
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return b


def cosine_weights(x: sp.csr_matrix) -> sp.csr_matrix:
    counts = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
    counts[counts == 0] = 1.0
    norm = sp.diags(1.0 / counts)
    sim = (norm @ (x.T @ x) @ norm).tocsr()
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    return sim


def prune(weights: np.ndarray | sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Each row's `keep` strongest weights. Negative ones stay: in EASE an item another one already
    explains is marked down, and dropping them cost a tenth of Recall@10 on MovieLens."""
    dense = weights.toarray() if isinstance(weights, sp.spmatrix | sp.sparray) else np.asarray(weights)
    rows, cols, vals = [], [], []
    for i, row in enumerate(dense):
        strength = np.abs(row)
        top = np.argpartition(-strength, keep - 1)[:keep] if len(row) > keep else np.arange(len(row))
        top = top[row[top] != 0]
        rows.extend([i] * len(top))
        cols.extend(top.tolist())
        vals.extend(row[top].tolist())
    n = dense.shape[0]
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(n, n))


def train(x: sp.csr_matrix, item_ids: Sequence[str], params: Params | None = None) -> Model:
    """The model from a binary user x item matrix whose columns are `item_ids`."""
    params = params or Params()
    keep = supported_items(x, params.min_support)
    popularity = np.asarray((x > 0).sum(axis=0)).ravel().astype(np.float64)
    sub = x[:, keep]
    if len(keep) == 0:
        inner = sp.csr_matrix((0, 0), dtype=np.float32)
        algorithm = "popularity"
    elif len(keep) <= EASE_MAX_ITEMS:
        inner = prune(ease_weights(sub, params.l2), params.neighbours)
        algorithm = "ease"
    else:
        inner = prune(cosine_weights(sub), params.neighbours)
        algorithm = "item-knn"
    n = len(item_ids)
    expand = sp.csr_matrix((np.ones(len(keep)), (keep, np.arange(len(keep)))), shape=(n, len(keep)))
    weights = (expand @ inner @ expand.T).tocsr().astype(np.float32)
    popularity[np.setdiff1d(np.arange(n), keep)] = 0.0  # too few people to be named "popular"
    return Model(list(item_ids), weights, popularity, algorithm, params)


def recency_weights(n: int, half_life: float) -> np.ndarray:
    """Weights of a history of n items, newest first."""
    return np.power(0.5, np.arange(n) / half_life) if half_life > 0 else np.ones(n)


def contributions(model: Model, history: np.ndarray) -> sp.csr_matrix:
    """Row k: what the person's k-th newest item adds to each item's score (its reason)."""
    weights = recency_weights(len(history), model.params.half_life).astype(np.float32)
    return sp.csr_matrix(model.weights[history].multiply(weights[:, None]))


def collaborative(model: Model, history: np.ndarray) -> np.ndarray:
    """Each item's score from the person's history (indices into the model's items, newest first)."""
    if len(history) == 0 or model.weights.nnz == 0:
        return np.zeros(model.size, dtype=np.float32)
    return np.asarray(contributions(model, history).sum(axis=0)).ravel()


def repeat_score(orders_ago: Iterable[int], decay: float) -> float:
    """How strongly a person's own purchases of one item say they will buy it again: each purchase
    counts `decay` to the power of how many of their orders came after it (0 for their newest)."""
    return float(sum(decay**ago for ago in orders_ago))


@dataclass(frozen=True)
class Own:
    """One item of the person's own purchases, for the buy-again list."""

    index: int
    orders_ago: tuple[int, ...]  # per order that held it, how many of their orders came after it
    due: float = 1.0  # 0..1: how due it is by their own repurchase interval, or the population's


def buy_again(model: Model, own: Sequence[Own]) -> np.ndarray:
    """The person's own repeat purchases, scored by `repeat_score` relative to their strongest, times
    how due each is."""
    scores = np.zeros(model.size, dtype=np.float32)
    raw = [repeat_score(o.orders_ago, model.params.again_decay) for o in own]
    top = max(raw, default=0.0)
    if top > 0:
        for o, r in zip(own, raw, strict=True):
            scores[o.index] = r / top * o.due
    return scores


def blend(model: Model, collab: np.ndarray, again: np.ndarray) -> np.ndarray:
    """The shipped ranking: collaborative scores scaled to 0..1, plus the buy-again list; popularity
    breaks ties at a thousandth of a point so a person with no history still gets an order."""
    top = float(collab.max()) if collab.size else 0.0
    scaled = collab / top if top > 0 else collab
    pop_top = float(model.popularity.max()) if model.popularity.size else 0.0
    tie = model.popularity / pop_top * 1e-3 if pop_top > 0 else 0.0
    return scaled + model.params.again_weight * again + tie


def top_n(scores: np.ndarray, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the n best scores, best first, leaving out `exclude` and anything scored 0 or less."""
    scores = scores.astype(np.float64, copy=True)
    if exclude is not None and len(exclude):
        scores[exclude] = -np.inf
    n = min(n, int(np.sum(scores > 0)))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.argpartition(-scores, n - 1)[:n]
    return best[np.argsort(-scores[best], kind="stable")]


def to_arrays(model: Model) -> dict[str, np.ndarray]:
    """The model as arrays for `np.savez` (stored in the database, loaded by every server)."""
    w = model.weights
    return {
        "item_ids": np.asarray(model.item_ids, dtype=object).astype(str),
        "indptr": w.indptr,
        "indices": w.indices,
        "data": w.data,
        "popularity": model.popularity,
        "intervals": model.intervals if model.intervals is not None else np.full(model.size, np.nan),
    }


def from_arrays(arrays: dict[str, np.ndarray], algorithm: str, params: Params) -> Model:
    ids = [str(i) for i in arrays["item_ids"]]
    n = len(ids)
    weights = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))
    popularity = np.asarray(arrays["popularity"], dtype=np.float64)
    return Model(ids, weights, popularity, algorithm, params, np.asarray(arrays["intervals"], dtype=np.float64))
