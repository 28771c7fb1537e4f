"""Training the recommender from the event log (`rapport decide train`, and on a schedule beside the
consumers), and keeping the newest model in memory for every decision.

Training reads every person's item lines (decide/store.py) through the profiles that took their
events, as merge groups: a person who shopped on the web and in a store is one row of the matrix.
The model is stored in the database with its version, so every server process loads the same one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import median
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.decide import learn
from rapport.decide.model import ADDED, PURCHASED, VIEWED, repurchase_interval
from rapport.decide.store import item_events, models
from rapport.identity.store import profiles
from rapport.kernel.clock import utcnow
from rapport.profiles.store import profile_events

log = logging.getLogger(__name__)

KEEP_MODELS = 3  # older models are deleted when a new one is stored
TRAINED_ON = (VIEWED, ADDED, PURCHASED)
_LINES = (
    sa.select(profiles.c.canonical_id, item_events.c.item_id, item_events.c.action, item_events.c.at)
    .select_from(
        item_events.join(profile_events, profile_events.c.event_id == item_events.c.event_id).join(
            profiles, profiles.c.id == profile_events.c.profile_id
        )
    )
    .where(item_events.c.action.in_(TRAINED_ON), item_events.c.item_id != "")
)


@dataclass(frozen=True)
class Trained:
    version: str
    trained_at: datetime
    algorithm: str
    people: int
    items: int
    interactions: int
    seconds: float


def _intervals(bought: dict[tuple[int, int], list[datetime]], n_items: int, min_support: int) -> np.ndarray:
    """Per item, the median of the repurchase intervals of the people who bought it more than once,
    in days; unknown (nan) where fewer than `min_support` people did."""
    per_item: dict[int, list[float]] = defaultdict(list)
    for (_person, item), times in bought.items():
        interval = repurchase_interval(times)
        if interval is not None:
            per_item[item].append(interval.total_seconds() / 86400)
    out = np.full(n_items, np.nan)
    for item, days in per_item.items():
        if len(days) >= min_support:
            out[item] = median(days)
    return out


def train_model(db: Database, params: learn.Params | None = None) -> Trained | None:
    """Train on every item line the processor has placed and store the model; None when nobody has any."""
    params = params or learn.Params()
    started = time.perf_counter()
    people: dict[str, int] = {}
    item_index: dict[str, int] = {}
    users, cols = [], []
    bought: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    with db.read() as conn:
        through_line = conn.execute(sa.select(sa.func.max(item_events.c.id))).scalar() or 0
        for person, item, action, at in conn.execute(_LINES):
            u = people.setdefault(person, len(people))
            i = item_index.setdefault(item, len(item_index))
            users.append(u)
            cols.append(i)
            if action == PURCHASED:
                bought[(u, i)].append(at)
    if not users:
        return None
    x = learn.interaction_matrix(users, cols, len(people), len(item_index))
    model = learn.train(x, list(item_index), params)
    model.intervals = _intervals(bought, model.size, params.min_support)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **learn.to_arrays(model))  # type: ignore[arg-type]
    artifact = buffer.getvalue()
    trained_at = utcnow()
    version = f"{trained_at:%Y%m%d%H%M%S}-{hashlib.sha256(artifact).hexdigest()[:8]}"
    seconds = round(time.perf_counter() - started, 3)
    summary = {
        "people": len(people),
        "items": model.size,
        "interactions": int(x.nnz),
        "seconds": seconds,
        "through_line": through_line,  # the newest item line it could have seen: retraining is due after more
    }
    with db.write() as conn:
        conn.execute(
            models.insert().values(
                version=version,
                trained_at=trained_at,
                algorithm=model.algorithm,
                params=asdict(params),
                summary=summary,
                artifact=artifact,
            )
        )
        newest = sa.select(models.c.version).order_by(models.c.trained_at.desc()).limit(KEEP_MODELS)
        keep = list(conn.execute(newest).scalars())
        conn.execute(models.delete().where(models.c.version.not_in(keep)))
    cache_for(db).forget()  # this process serves it at once
    return Trained(version, trained_at, model.algorithm, len(people), model.size, int(x.nnz), seconds)


@dataclass(frozen=True)
class Loaded:
    version: str
    trained_at: datetime
    model: learn.Model


_NEWEST = sa.select(models.c.version).order_by(models.c.trained_at.desc()).limit(1)
CHECK_EVERY_S = 1.0


class ModelCache:
    """The newest stored model, in memory; whether a newer one was stored is read at most every second
    (one indexed row), so a model trained by `rapport decide train` is served within a second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._checked = 0.0

    def current(self, conn: Connection) -> Loaded | None:
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_S:
            return self._loaded
        with self._lock:
            version = conn.execute(_NEWEST).scalar()
            if version is None:
                self._loaded = None
            elif self._loaded is None or self._loaded.version != version:
                self._loaded = _load(conn, version)
            self._checked = now
            return self._loaded

    def forget(self) -> None:
        with self._lock:
            self._checked = 0.0


_CACHES: dict[str, ModelCache] = {}
_CACHES_LOCK = threading.Lock()


def cache_for(db: Database) -> ModelCache:
    """This process's cache of the model of `db`'s database."""
    key = str(db.engine.url)
    with _CACHES_LOCK:
        return _CACHES.setdefault(key, ModelCache())


def _load(conn: Connection, version: str) -> Loaded:
    row = conn.execute(sa.select(models).where(models.c.version == version)).one()
    with np.load(io.BytesIO(row.artifact), allow_pickle=False) as arrays:
        loaded = {name: arrays[name] for name in arrays.files}
    params = learn.Params(**{k: v for k, v in row.params.items() if k in learn.Params.__dataclass_fields__})
    return Loaded(version, row.trained_at, learn.from_arrays(loaded, row.algorithm, params))


def model_summaries(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(
            models.c.version, models.c.trained_at, models.c.algorithm, models.c.params, models.c.summary
        ).order_by(models.c.trained_at.desc())
    )
    return [dict(r._mapping) for r in rows]


# --- retraining on a schedule ----------------------------------------------------------------------

RETRAIN_CHECK_S = 60.0


def retraining_due(conn: Connection, every_s: float, now: datetime) -> bool:
    """Whether the newest model is older than `every_s` and item lines arrived after it was trained (or
    there is no model yet and there are item lines)."""
    newest_line = conn.execute(sa.select(sa.func.max(item_events.c.id))).scalar()
    if newest_line is None:
        return False
    row = conn.execute(sa.select(models.c.trained_at, models.c.summary).order_by(models.c.trained_at.desc())).first()
    if row is None:
        return True
    seen = (row.summary or {}).get("through_line", 0)
    return int(newest_line) > int(seen) and (now - row.trained_at).total_seconds() >= every_s


def retrain_if_due(db: Database, every_s: float) -> Trained | None:
    with db.read() as conn:
        due = retraining_due(conn, every_s, utcnow())
    return train_model(db) if due else None


def run_retraining(db: Database, stop: threading.Event) -> None:
    """Decide's worker, as `rapport.contexts` lists it: retrains the recommender every
    RAPPORT_DECIDE_RETRAIN_HOURS when new item lines arrived (one worker per deployment, so one
    training at a time); every server process picks the new model up within a second."""
    every_s = db.settings.decide_retrain_hours * 3600
    if every_s <= 0:
        return
    while not stop.wait(RETRAIN_CHECK_S):
        try:
            retrain_if_due(db, every_s)
        except Exception:  # a failed training must not stop the schedule; the next check tries again
            log.exception("decide: scheduled retraining failed")
