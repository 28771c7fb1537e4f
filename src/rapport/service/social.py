"""Social listening, the write path: a mention comes in, a code in it may prove its handle, and one
that needs service becomes (or continues) a case in the one fair queue.

A handle joins a profile only through proof: the customer asks the portal for a one-time code and
posts or sends it from that account; a mention from that handle carrying the code (or staff who saw
it) links the handle to them as a `proven` identifier of type `social`. Never by a name: a mention
from a stranger's handle gets a profile of the handle's own (service/requester.py). The author's
following goes to case_influence (service/influence.py), for the parity report only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid
from rapport.service import social_model
from rapport.service.influence import MAX_FOLLOWERS, record_influence
from rapport.service.requester import for_handle
from rapport.service.service import Message, NewCase, Work, customer_wrote_in, load_case, open_case_in
from rapport.service.social_model import SocialRuleError
from rapport.service.social_proof import prove_by_codes
from rapport.service.social_store import social_mentions
from rapport.service.store import cases

MAX_URL = 2000


@dataclass(frozen=True)
class Mention:
    network: str
    handle: str
    text: str
    posted_at: datetime
    url: str | None = None
    followers: int | None = None  # None: not known (the case has no influence band)
    needs_service: bool | None = None


def _rule(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except SocialRuleError as exc:
        raise Invalid(exc.code, str(exc)) from None


def check_mention(m: Mention) -> Mention:
    """The mention as stored, or Invalid with what is wrong."""
    handle = _rule(social_model.normalize_handle, m.network, m.handle)
    if not isinstance(m.text, str) or not m.text.strip() or len(m.text) > social_model.MAX_MENTION_TEXT:
        raise Invalid("invalid_text", f"text is 1 to {social_model.MAX_MENTION_TEXT} characters")
    if m.url is not None:
        parts = urlsplit(m.url) if len(m.url) <= MAX_URL else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or any(c.isspace() for c in m.url)
        ):
            raise Invalid("invalid_url", f"url is an http or https address of at most {MAX_URL} characters")
    count = m.followers
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_FOLLOWERS):
        raise Invalid("invalid_followers", f"followers is a whole number from 0 to {MAX_FOLLOWERS}")
    if not isinstance(m.posted_at, datetime) or m.posted_at.tzinfo is None:
        raise Invalid("invalid_posted_at", "posted_at is a date and time with its offset (2026-12-04T10:00:00Z)")
    if m.posted_at > utcnow() + timedelta(days=1):
        raise Invalid("invalid_posted_at", "posted_at is in the future")
    return Mention(m.network, handle, m.text.strip(), m.posted_at, m.url, m.followers, m.needs_service)


FILE_FIELDS = ("network", "handle", "text", "url", "followers", "posted_at", "needs_service")
_YES, _NO = ("true", "yes", "1"), ("false", "no", "0")


def mention_from_row(row: dict[str, Any]) -> Mention:
    """A mention from a row of an import file (CSV: every value text; JSON Lines: typed), or Invalid."""
    if not isinstance(row, dict):
        raise Invalid("invalid_row", "a row is an object with network, handle, text, posted_at")
    unknown = set(row) - set(FILE_FIELDS)
    if unknown:
        raise Invalid("unknown_field", f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    for name in ("network", "handle", "text", "posted_at"):
        if not isinstance(row.get(name), str) or not row[name].strip():
            raise Invalid(f"invalid_{name}", f"{name} is required")
    try:
        posted = datetime.fromisoformat(row["posted_at"].strip())
    except ValueError:
        raise Invalid("invalid_posted_at", "posted_at is an ISO 8601 date and time with its offset") from None
    followers, flag = row.get("followers"), row.get("needs_service")
    if isinstance(followers, str):
        text = followers.strip()
        if text and not (text.isascii() and text.isdigit()):
            raise Invalid("invalid_followers", "followers is a whole number")
        followers = int(text) if text else None
    if isinstance(flag, str):
        word = flag.strip().lower()
        if word and word not in _YES + _NO:
            raise Invalid("invalid_needs_service", "needs_service is true or false (or empty)")
        flag = None if not word else word in _YES
    if flag is not None and not isinstance(flag, bool):
        raise Invalid("invalid_needs_service", "needs_service is true or false")
    url = row.get("url") or None
    if url is not None and not isinstance(url, str):
        raise Invalid("invalid_url", "url is text")
    return Mention(row["network"].strip(), row["handle"], row["text"], posted, url, followers, flag)  # type: ignore[arg-type]


def record_mention(db: Database, mention: Mention, *, actor: str) -> dict[str, Any]:
    """Store a mention; prove its handle if it carries a code issued for it; open or continue a case
    if it needs service. Answers what became of it, with `case_id` (None: no case). A mention whose
    url was received already is answered as it was then (`duplicate`)."""
    m = check_mention(mention)
    codes = social_model.codes_in(m.text)
    with db.write(lock=GRAPH_LOCK if codes else None) as conn:
        if m.url is not None:
            earlier = conn.execute(
                sa.select(social_mentions).where(social_mentions.c.network == m.network, social_mentions.c.url == m.url)
            ).first()
            if earlier is not None:
                return {**_answer(dict(earlier._mapping)), "duplicate": True}
        w = Work(conn, actor)
        proof = prove_by_codes(conn, m.network, m.handle, codes, w.now) if codes else None
        requester = for_handle(conn, m.network, m.handle)
        rest = social_model.CODE.sub("", m.text)
        verdict = social_model.needs_service(rest, m.needs_service)
        case = _case_for(w, m, requester) if verdict.needs_service else None
        values = {
            "network": m.network,
            "handle": m.handle,
            "text": m.text,
            "url": m.url,
            "posted_at": m.posted_at,
            "received_at": w.now,
            "needs_service": verdict.needs_service,
            "reason": verdict.reason[:300],
            "case_id": case["id"] if case else None,
            "profile_id": requester.profile_id if requester.key is None else None,
            "author_key": requester.key,
            "proof": proof,
            "created_by": actor[:200],
        }
        mention_id = conn.execute(social_mentions.insert().values(**values)).inserted_primary_key[0]  # type: ignore[index]
        if case is not None:
            w.finish(case)
    return {**_answer({"id": mention_id, **values}), "duplicate": False}


def _answer(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "mention_id": row["id"],
        "case_id": row["case_id"],
        "needs_service": row["needs_service"],
        "reason": row["reason"],
        "proof": row["proof"],
        "handle_linked": row["profile_id"] is not None,
    }


def _case_for(w: Work, m: Mention, requester: Any) -> dict[str, Any]:
    """The handle's case still in progress (its new mention continues it), else a new one."""
    text = f"{m.text}\n\n{m.url}" if m.url else m.text
    open_case = w.conn.execute(
        sa.select(social_mentions.c.case_id)
        .join(cases, cases.c.id == social_mentions.c.case_id)
        .where(
            social_mentions.c.network == m.network,
            social_mentions.c.handle == m.handle,
            cases.c.status.not_in(("closed",)),
            cases.c.merged_into.is_(None),
        )
        .order_by(social_mentions.c.id.desc())
        .limit(1)
    ).scalar()
    if open_case is not None:
        case = load_case(w.conn, int(open_case))
        customer_wrote_in(w, case, Message(text, channel="social"))
        return case
    new = NewCase(social_model.subject_of(m.handle, m.network, m.text), "social")
    case = open_case_in(w, requester, new, Message(text, channel="social"), "customer")
    if m.followers is not None:
        record_influence(w.conn, case["id"], m.network, m.handle, m.followers)
    return case
