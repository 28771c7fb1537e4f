"""The demo's survey answers: real Amazon review snippets from VADER's ground truth where the archive
is on this machine, scores that agree with them, follow-up cases for the detractors, months of
answers for the charts and the scorecard over time."""

from __future__ import annotations

import sqlalchemy as sa

from factories import send_batch
from rapport.service.store import cases
from rapport.voice.demo import amazon_snippets, seed_voice, snippet_archive
from rapport.voice.store import survey_answers, survey_responses


def test_demo_customers_answer_with_real_review_text(client, backend, admin_headers, db):
    for n in range(9):
        send_batch(client, backend, [{"type": "track", "userId": f"c{n}", "event": "Order Completed"}])
    client.get("/api/v1/profiles/x", params={"consistent": "true"}, headers=admin_headers)
    seeded = seed_voice(db, customers=9)
    assert seeded["survey_answers"] + seeded["skipped"] == 9 and seeded["survey_answers"] >= 5
    snippets = amazon_snippets()
    if snippet_archive() is not None:
        assert len(snippets) > 3000 and seeded["texts_from"].startswith("Amazon review snippets")
    with db.read() as conn:
        texts = list(conn.execute(sa.select(survey_answers.c.raw).where(survey_answers.c.type == "text")).scalars())
        detractors = conn.execute(
            sa.select(sa.func.count()).where(survey_responses.c.detractor_reason.is_not(None))
        ).scalar_one()
        follow_ups = conn.execute(sa.select(sa.func.count()).where(cases.c.topic == "survey follow-up")).scalar_one()
    assert len(texts) == seeded["survey_answers"]
    if snippets:
        assert set(texts) <= {s.text for s in snippets}
    assert follow_ups == detractors == seeded["follow_up_cases"]
    metrics = client.get("/api/v1/voice/metrics", params={"metric": "nps", "by": "month"}, headers=admin_headers)
    assert sum(g["n"] for g in metrics.json()["groups"]) >= 1  # one survey in three asks NPS
    card = client.get("/api/v1/voice/scorecard", headers=admin_headers).json()
    scores = [h["score"] for h in card["history"]]
    assert len(scores) == 4 and scores == sorted(scores)
    if isinstance(seeded["topics"], list) and seeded["follow_up_cases"]:  # a topic build ran over the answers
        found = client.get("/api/v1/voice/detraction-topics", headers=admin_headers).json()["items"]
        assert found and {t["topic"] for t in found} <= set(seeded["topics"])
