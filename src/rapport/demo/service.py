"""The demo's service desk: an office calendar and policies, the public channel directory, and cases
across channels for the demo customers (some answered in time, some late, some breached and still
waiting, some paused on the customer), plus two social complaints from a large and a small following
and a handle proven by its code, so the queue, the clocks and the parity report show something real.

Cases opened days ago are opened through the service's own write path as of that moment
(`Work.now`); an answer is given through the write path now, and its history rows are then dated
when it was given, so the clocks read the history as it would have been.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rapport.db.engine import Database
from rapport.kernel.clock import utcnow
from rapport.service import directory, policy_admin, social, social_proof
from rapport.service.clock import refresh
from rapport.service.requester import for_profile
from rapport.service.service import Changes, Message, NewCase, Work, open_case_in, reply, update_case

ACTOR = "demo"
OFFICE = {
    "timezone": "America/New_York",
    "hours": {d: [["09:00", "12:30"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US"},
}
CHANNELS = (
    ("email", "email", "Email us", "help@example.com", None, ["orders", "billing", "returns"], 1),
    ("phone", "phone", "Call us", "+1 201-555-0100", "office", ["billing", "outage", "orders"], 2),
    ("chat", "chat", "Chat with us", "/portal/help", "office", ["orders", "returns"], 3),
    ("social", "social", "On social networks", "https://x.com/example", None, ["questions"], 4),
    ("store", "store", "Visit a store", "12 Main Street, Springfield", "office", ["returns", "repairs"], 5),
)
LINKS = [
    {"label": "Help center", "url": "/portal/help", "kind": "self-service"},
    {"label": "My requests", "url": "/portal/requests", "kind": "self-service"},
    {"label": "Consumer advice (FTC)", "url": "https://consumer.ftc.gov/", "kind": "third-party"},
]
# (channel, subject, days ago, hours until the first answer or None, status after it)
CASES = (
    ("email", "Order arrived damaged", 6, 2, "solved"),
    ("phone", "Charged twice for one order", 5, 30, "solved"),
    ("chat", "Where is my parcel?", 4, None, None),  # never answered: breached, first in the queue
    ("store", "Return without a receipt", 3, 1, "pending"),  # waiting on the customer: paused
    ("email", "Change my delivery address", 2, 50, "open"),  # answered late
    ("portal", "Cannot download my invoice", 0.02, None, None),  # just asked: running
)


def seed_service(db: Database, profile_ids: list[str]) -> dict[str, Any]:
    """Everything above, for the demo's heroes (their profiles); answers what was made."""
    policy_admin.set_calendar(db, "office", OFFICE, ACTOR)
    office = {"position": 10, "channel": "phone", "calendar": "office", "first_response_minutes": 60,
              "resolution_minutes": 8 * 60, "warn_before_minutes": 15}  # fmt: skip
    policy_admin.set_policy(db, "phone", office, ACTOR)
    chat = {"position": 11, "channel": "chat", "calendar": "always", "first_response_minutes": 30,
            "next_response_minutes": 30, "resolution_minutes": 24 * 60, "warn_before_minutes": 10}  # fmt: skip
    policy_admin.set_policy(db, "chat", chat, ACTOR)
    for key, channel, name, contact, calendar, topics, position in CHANNELS:
        spec = {"channel": channel, "name": name, "contact": contact, "calendar": calendar, "topics": topics,
                "links": LINKS, "position": position, "description": ""}  # fmt: skip
        directory.set_entry(db, key, spec, ACTOR)
    made = [_case(db, profile_ids[i % len(profile_ids)], *spec) for i, spec in enumerate(CASES)] if profile_ids else []
    now = utcnow()
    loud = social.record_mention(
        db, social.Mention("x", "@bigvoice", "Your app has been broken all day. Fix it!", now, followers=250_000),
        actor=ACTOR,
    )  # fmt: skip
    quiet = social.record_mention(
        db, social.Mention("x", "@smallvoice", "Is the app down for anyone else?", now, followers=40), actor=ACTOR
    )
    proven = None
    if profile_ids:
        code = social_proof.issue_code(db, profile_ids[0], "instagram", "hero.one", actor=ACTOR)["code"]
        social.record_mention(db, social.Mention("instagram", "hero.one", f"It's me {code}", now), actor=ACTOR)
        proven = social.record_mention(
            db, social.Mention("instagram", "hero.one", "My order is late, can you help?", now, followers=900),
            actor=ACTOR,
        )["case_id"]  # fmt: skip
    return {"cases": made, "social": [loud["case_id"], quiet["case_id"]], "proven_handle_case": proven}


def _case(db: Database, profile_id: str, channel: str, subject: str, days: float, answer_h: float | None,
          status: str | None) -> int:  # fmt: skip
    opened = utcnow() - timedelta(days=days)
    with db.write() as conn:
        w = Work(conn, ACTOR, now=opened)
        requester = for_profile(conn, profile_id)
        assert requester is not None
        case = open_case_in(w, requester, NewCase(subject, channel), Message(f"{subject}. Please help."), "customer")
        w.finish(case)
    if answer_h is not None:
        # The answer at its time: the history is written as it happened, then read as of now.
        at = opened + timedelta(hours=answer_h)
        _answer_at(db, case["id"], at, status or "open")
    with db.write() as conn:
        refresh(conn, case["id"], utcnow())
    return int(case["id"])


def _answer_at(db: Database, case_id: int, at: Any, status: str) -> None:
    """An agent's answer as of `at`: replied now through the write path, its history rows then dated."""
    import sqlalchemy as sa

    from rapport.service.store import case_events, case_messages

    with db.read() as conn:
        last = conn.execute(sa.select(sa.func.max(case_events.c.id)).where(case_events.c.case_id == case_id)).scalar()
    done = reply(db, case_id, "Thank you for telling us. We are on it.", actor=ACTOR,
                 status="pending" if status == "pending" else None)  # fmt: skip
    if status == "solved":
        update_case(db, case_id, Changes(status="solved"), actor=ACTOR)
    with db.write() as conn:
        conn.execute(
            case_events.update().where(case_events.c.case_id == case_id, case_events.c.id > last).values(at=at)
        )
        conn.execute(case_messages.update().where(case_messages.c.id == done["message_id"]).values(at=at))
