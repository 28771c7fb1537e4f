"""`rapport serve` retrains the recommender on a schedule: only when the newest model is older than
RAPPORT_DECIDE_RETRAIN_HOURS and purchases or views arrived since it was trained."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from factories import eventually, send_batch
from rapport.collect.consumer import consumer_offset
from rapport.decide import training
from rapport.decide.store import models
from rapport.kernel.clock import utcnow
from rapport.profiles.processor import applied_offset

DAY_S = 24 * 3600.0


def bought(client, source, db, user: str, item: str) -> None:
    message = {
        "type": "track",
        "event": "Order Completed",
        "userId": user,
        "properties": {"order_id": f"o-{user}-{item}", "products": [{"product_id": item, "price": 10}]},
    }
    res = send_batch(client, source, [message])
    assert res.status_code == 200, res.text
    offset = res.json()["offset"]  # on a profile (the model reads lines through profiles) and as an item line
    assert eventually(lambda: applied_offset(db) >= offset and consumer_offset(db, "decide") >= offset)


def model_count(db) -> int:
    with db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(models)).scalar_one()


def age_models(db, seconds: float) -> None:
    with db.write() as conn:
        for version, at in conn.execute(sa.select(models.c.version, models.c.trained_at)).all():
            conn.execute(
                models.update().where(models.c.version == version).values(trained_at=at - timedelta(seconds=seconds))
            )


def test_nothing_to_learn_from_is_never_due(db):
    with db.read() as conn:
        assert not training.retraining_due(conn, DAY_S, utcnow())
    assert training.retrain_if_due(db, DAY_S) is None


def test_retrains_only_when_old_enough_and_something_new_arrived(client, source, db):
    bought(client, source, db, "ada", "a1")
    assert training.retrain_if_due(db, DAY_S) is not None, "item lines and no model: due at once"
    assert model_count(db) == 1

    assert training.retrain_if_due(db, DAY_S) is None, "nothing new"
    age_models(db, 2 * DAY_S)
    assert training.retrain_if_due(db, DAY_S) is None, "old, but nothing new arrived"

    bought(client, source, db, "bob", "a2")
    age_models(db, -1.5 * DAY_S)  # trained half a day ago
    assert training.retrain_if_due(db, DAY_S) is None, "something new, but the model is younger than the interval"
    age_models(db, DAY_S)
    trained = training.retrain_if_due(db, DAY_S)
    assert trained is not None and trained.people == 2
    assert model_count(db) == 2


def test_the_worker_trains_on_its_schedule_and_stops(client, source, db, monkeypatch):
    bought(client, source, db, "ada", "a1")
    monkeypatch.setattr(training, "RETRAIN_CHECK_S", 0.05)
    stop = threading.Event()
    worker = threading.Thread(target=training.run_retraining, args=(db, stop))
    worker.start()
    try:
        assert eventually(lambda: model_count(db) == 1)
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()


def test_zero_hours_turns_the_schedule_off(client, source, db, monkeypatch):
    bought(client, source, db, "ada", "a1")
    monkeypatch.setattr(training, "RETRAIN_CHECK_S", 0.01)
    monkeypatch.setattr(db.settings, "decide_retrain_hours", 0.0)
    stop = threading.Event()
    training.run_retraining(db, stop)  # returns at once rather than looping
    assert model_count(db) == 0
