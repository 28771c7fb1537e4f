"""Survey answers for the demo customers, so the metrics, topics, closed-loop cases and scorecard
show real content.

Written answers are real Amazon review snippets from VADER's human-rated ground truth (Hutto &
Gilbert, ICWSM 2014), read from the vaderSentiment 3.3.2 source archive where this machine has it
(see `snippet_archive`); each answer's score is drawn to agree with how the people who rated the
snippet felt. Without the archive the demo writes a few plain answers of its own, and says so.

The answers go through the same path as a customer's (invite, then answer from the signed link);
then, for the charts over time, they are spread over the last months: a demo-only step.
"""

from __future__ import annotations

import os
import random
import tarfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rapport.collect.internal import record_event
from rapport.collect.store import events
from rapport.db.engine import Database
from rapport.identity.store import profiles
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import DomainError
from rapport.profiles.processor import applied_offset
from rapport.profiles.store import profile_events
from rapport.texts import groundtruth
from rapport.texts.service import rebuild_topics
from rapport.voice import service
from rapport.voice.participation import assess
from rapport.voice.store import (
    ask_decisions,
    scorecard_snapshots,
    survey_answers,
    survey_invitations,
    survey_responses,
)

SDIST = "vaderSentiment-3.3.2.tar.gz"
MONTHS = 6
FALLBACK = {  # used only without the archive: (text, human mean on -4..4)
    "negative": ["The parcel came late and the box was crushed.", "Nobody answered my emails for a week."],
    "neutral": ["It arrived on the day you said.", "The product is as described."],
    "positive": ["Great service, the agent sorted it out in minutes.", "Fast delivery and it works perfectly."],
}
SURVEYS = (
    ("After your request", "case_solved", "email", [("nps", "nps", "How likely are you to recommend us?")]),
    ("Your order", "purchase", "portal", [("csat", "csat", "How satisfied are you with your order?")]),
    ("Getting started", "milestone", "embed", [("ces", "ces", "The company made it easy for me to get started.")]),
)
TOUCH = {"case_solved": ("phone", "email", "chat"), "purchase": ("store", "web"), "milestone": ("web", "mobile")}


@dataclass(frozen=True)
class Snippet:
    text: str
    mean: float


def snippet_archive() -> Path | None:
    """The sdist, where this machine has it: $RAPPORT_VADER_SDIST, ../shared/data/vader/, the user
    cache (~/.cache/rapport/), or a local package mirror (/opt/pypi*). Nothing is downloaded."""
    here = Path(__file__).resolve().parents[3]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rapport"
    candidates = [Path(os.environ["RAPPORT_VADER_SDIST"])] if os.environ.get("RAPPORT_VADER_SDIST") else []
    candidates += [here.parent / "shared" / "data" / "vader" / SDIST, cache / SDIST]
    candidates += sorted(Path("/opt").glob(f"pypi*/{SDIST}"))
    return next((p for p in candidates if p.is_file()), None)


def amazon_snippets(path: Path | None = None) -> list[Snippet]:
    """The Amazon review snippets with their human mean (-4..4), read by rapport.texts' reader of the
    ground truth (which checks the archive's SHA-256); none where the archive is not here."""
    path = path or snippet_archive()
    if path is None:
        return []
    try:
        found = groundtruth.load(path, fetch=False)["amazonReviewSnippets"]
    except (OSError, ValueError, KeyError, tarfile.TarError):
        return []
    return [Snippet(s.text, s.mean) for s in found if 20 <= len(s.text) <= 400]


def _by_feeling(snippets: list[Snippet]) -> dict[str, list[tuple[str, float]]]:
    if not snippets:
        return {
            k: [(t, {"negative": -2.5, "neutral": 0.0, "positive": 2.5}[k]) for t in v] for k, v in FALLBACK.items()
        }
    return {
        "negative": [(s.text, s.mean) for s in snippets if s.mean <= -1.5],
        "neutral": [(s.text, s.mean) for s in snippets if -0.5 < s.mean < 0.5],
        "positive": [(s.text, s.mean) for s in snippets if s.mean >= 1.5],
    }


def _score(kind: str, feeling: str, rng: random.Random) -> int:
    ranges = {
        "nps": {"negative": (0, 6), "neutral": (7, 8), "positive": (9, 10)},
        "csat": {"negative": (1, 2), "neutral": (3, 3), "positive": (4, 5)},
        "ces": {"negative": (1, 3), "neutral": (4, 4), "positive": (5, 7)},
    }
    low, high = ranges[kind][feeling]
    return rng.randint(low, high)


def _customers(db: Database, limit: int) -> list[str]:
    with db.read() as conn:
        used = (
            sa.select(profile_events.c.profile_id)
            .join(events, events.c.id == profile_events.c.event_id)
            .where(events.c.event == "Order Completed")
            .distinct()
        )
        query = sa.select(profiles.c.id).where(profiles.c.merged_into.is_(None), profiles.c.id.in_(used))
        return list(conn.execute(query.order_by(profiles.c.id).limit(limit)).scalars())


def seed_voice(db: Database, customers: int = 150, seed: int = 17) -> dict[str, Any]:
    """Surveys, answers from up to `customers` demo customers, and the scorecard over time."""
    rng = random.Random(seed)
    snippets = amazon_snippets()
    pools = _by_feeling(snippets)
    made = []
    for name, trigger, delivery, questions in SURVEYS:
        spec = service.SurveySpec(
            name=name,
            trigger=trigger,
            delivery=delivery,
            milestone_event="Onboarding Finished" if trigger == "milestone" else None,
            questions=[{"key": k, "type": t, "text": q, "required": True} for k, t, q in questions]
            + [{"key": "why", "type": "text", "text": "What is the main reason for your answer?"}],
        )
        made.append(service.create_survey(db, spec, actor="demo"))
    relationship = service.SurveySpec(
        "How are we doing?",
        "relationship",
        [{"key": "nps", "type": "nps", "text": "Recommend us?"}],
        period_days=90,
        active=False,  # switched on by an admin; off in the demo so it mails no one
    )
    service.create_survey(db, relationship, actor="demo")
    answered = follow_ups = skipped = 0
    chosen = _customers(db, customers)
    _reviews_written(db, chosen, pools, rng)
    for n, profile_id in enumerate(chosen):
        survey = made[n % len(made)]
        question = survey["questions"][0]
        touch = service.Touch(
            "milestone:Onboarding Finished" if survey["trigger"] == "milestone" else survey["trigger"],
            rng.choice(TOUCH[survey["trigger"]]),
        )
        try:
            invited = service.invite(db, survey["id"], profile_id, touch, actor="demo", delivery="portal")
            if not invited["asked"]:
                skipped += 1  # the fatigue rules said no, with the reason on their Customer 360
                continue
            feeling = rng.choices(("negative", "neutral", "positive"), weights=(3, 3, 4))[0]
            text, _mean = rng.choice(pools[feeling])
            given = {question["key"]: _score(question["type"], feeling, rng), "why": text}
            done = service.answer(db, invited["token"], given, via="demo")
        except DomainError:
            continue
        answered += 1
        follow_ups += bool(done["follow_up_case_id"])
        _backdate(db, invited["invitation"]["id"], timedelta(days=rng.uniform(0, 30.4 * MONTHS)))
    _scorecard_history(db)
    try:  # topics of what the demo customers wrote, so the outer loop names them as a build does
        topics = rebuild_topics(db, "demo").get("topics")
    except DomainError as exc:
        topics = exc.message
    source = "Amazon review snippets of VADER's ground truth" if snippets else "the demo's own sentences (no archive)"
    return {
        "survey_answers": answered,
        "skipped": skipped,
        "follow_up_cases": follow_ups,
        "texts_from": source,
        "topics": topics,
    }


def _reviews_written(
    db: Database, chosen: list[str], pools: dict[str, list[tuple[str, float]]], rng: random.Random
) -> None:
    """The demo's customers bought in 1997-98, so none of them used the shop lately, and the fatigue
    rules (rightly) ask no one who did not: each chosen customer first reviews an album now (a
    `Product Reviewed` event with a real Amazon snippet), an interaction the survey may follow. The
    processor places the reviews before anyone is asked (at most a minute)."""
    texts = [t for pool in pools.values() for t, _ in pool] or ["Great service, thank you."]
    offset = 0
    with db.write() as conn:
        for profile_id in chosen:
            properties = {"text": rng.choice(texts), "rating": rng.randint(1, 5)}
            offset = record_event(
                conn,
                "voice",
                event="Product Reviewed",
                profile_id=profile_id,
                properties=properties,
                message_id=f"demo-review-{profile_id}",
            )
    deadline = time.monotonic() + 60
    while applied_offset(db) < offset and time.monotonic() < deadline:
        time.sleep(0.2)


def _backdate(db: Database, invitation_id: int, ago: timedelta) -> None:
    """Demo only: the answer as if given `ago`, so the charts over time have months to show."""
    with db.write() as conn:
        at = utcnow() - ago
        conn.execute(
            survey_invitations.update()
            .where(survey_invitations.c.id == invitation_id)
            .values(created_at=at - timedelta(hours=2), answered_at=at)
        )
        conn.execute(
            ask_decisions.update()
            .where(ask_decisions.c.invitation_id == invitation_id)
            .values(at=at - timedelta(hours=2))
        )
        response_ids = sa.select(survey_responses.c.id).where(survey_responses.c.invitation_id == invitation_id)
        conn.execute(
            survey_answers.update().where(survey_answers.c.response_id.in_(response_ids)).values(answered_at=at)
        )
        conn.execute(
            survey_responses.update()
            .where(survey_responses.c.invitation_id == invitation_id)
            .values(answered_at=at, updated_at=at)
        )


def _scorecard_history(db: Database) -> None:
    note = "Demo: twelve customers tested the new returns form before launch."
    card = assess(db, "design_process", True, note, actor="demo")  # records today's score
    with db.write() as conn:  # the months before, as the demo tells it: the score rising
        for months_ago, lost in ((3, 3), (2, 2), (1, 1)):
            at = utcnow() - timedelta(days=30 * months_ago)
            conn.execute(scorecard_snapshots.insert().values(at=at, score=max(card["score"] - lost, 0), items={}))
