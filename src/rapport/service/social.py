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
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.identity.graph import GRAPH_LOCK, bump_version
from rapport.identity.model import PROVEN
from rapport.identity.service import members_of
from rapport.identity.store import identifiers
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Conflict, Invalid, NotFound
from rapport.service import social_model
from rapport.service.influence import MAX_FOLLOWERS, record_influence
from rapport.service.requester import for_handle
from rapport.service.service import Message, NewCase, Work, customer_wrote_in, load_case, open_case_in
from rapport.service.social_model import SocialRuleError, identifier_key
from rapport.service.social_store import social_link_codes, social_mentions
from rapport.service.store import cases

CODE_TTL = timedelta(days=7)
MAX_PENDING_CODES = 5
PROOF_ACTOR = "customer:social-code"
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
        proof = _prove_by_codes(conn, m, codes, w.now) if codes else None
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


def _prove_by_codes(conn: Connection, m: Mention, codes: list[str], now: datetime) -> str:
    row = conn.execute(
        sa.select(social_link_codes).where(
            social_link_codes.c.code.in_(codes),
            social_link_codes.c.network == m.network,
            social_link_codes.c.handle == m.handle,
            social_link_codes.c.used_at.is_(None),
            social_link_codes.c.expires_at > now,
        )
    ).first()
    if row is None:
        return "a code that was not issued for this handle, or is spent or expired: nothing linked"
    outcome = link_handle(conn, row.profile_id, m.network, m.handle, by=PROOF_ACTOR, now=now)
    conn.execute(
        social_link_codes.update().where(social_link_codes.c.id == row.id).values(used_at=now, used_by=PROOF_ACTOR)
    )
    return outcome


def link_handle(conn: Connection, profile_id: str, network: str, handle: str, *, by: str, now: datetime) -> str:
    """Put the proven handle on the profile, in the caller's transaction (under the graph's lock)."""
    key = identifier_key(network, handle)
    try:
        canonical, members = members_of(conn, profile_id)
    except NotFound:
        return "the profile that asked for the code is gone: nothing linked"
    held = conn.execute(sa.select(identifiers.c.profile_id).where(identifiers.c.key == key)).scalar()
    if held is not None:
        return "linked already" if held in members else "the handle is proven on another profile: nothing linked"
    conn.execute(
        identifiers.insert().values(
            key=key,
            type="social",
            value=f"{network}:{handle}",
            profile_id=canonical,
            created_at=now,
            verification=PROVEN,
            verified_at=now,
            verified_by=by[:200],
        )
    )
    bump_version(conn)
    record_audit(
        conn,
        actor=by,
        action="identifier.proven",
        channel="social",
        profile_id=canonical,
        identifier_type="social",
        network=network,
    )
    return "linked: the handle is proven on the profile that asked for the code"


def issue_code(db: Database, profile_id: str, network: str, handle: str, *, actor: str) -> dict[str, Any]:
    """A one-time code for the customer to post or send from the handle, to prove it is theirs."""
    handle = _rule(social_model.normalize_handle, network, handle)
    now = utcnow()
    with db.write() as conn:
        pending = conn.execute(
            sa.select(sa.func.count()).where(
                social_link_codes.c.profile_id == profile_id,
                social_link_codes.c.used_at.is_(None),
                social_link_codes.c.expires_at > now,
            )
        ).scalar_one()
        if pending >= MAX_PENDING_CODES:
            raise Conflict("too_many_codes", f"at most {MAX_PENDING_CODES} codes wait at once; use or let one expire")
        values = {
            "code": social_model.new_code(),
            "profile_id": profile_id,
            "network": network,
            "handle": handle,
            "created_at": now,
            "expires_at": now + CODE_TTL,
        }
        conn.execute(social_link_codes.insert().values(**values))
        record_audit(
            conn, actor=actor, action="social.code_issued", channel="portal", profile_id=profile_id, network=network
        )
    return values


def confirm_code(db: Database, code: str, reason: str, *, actor: str) -> dict[str, Any]:
    """Staff saw the code posted or sent from its handle: the handle is linked as if a mention carried it."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise Invalid("invalid_reason", "say where you saw the code posted, in 1 to 500 characters")
    found = social_model.codes_in(code)
    if len(found) != 1:
        raise Invalid("invalid_code", "a code looks like RAPPORT-K7P2QX9M")
    now = utcnow()
    with db.write(lock=GRAPH_LOCK) as conn:
        row = conn.execute(sa.select(social_link_codes).where(social_link_codes.c.code == found[0])).first()
        if row is None:
            raise NotFound("code", "code_not_found")
        if row.used_at is not None or row.expires_at <= now:
            raise Conflict("code_spent", "the code was used already or has expired")
        outcome = link_handle(conn, row.profile_id, row.network, row.handle, by=actor, now=now)
        conn.execute(
            social_link_codes.update().where(social_link_codes.c.id == row.id).values(used_at=now, used_by=actor[:200])
        )
        record_audit(
            conn, actor=actor, action="social.code_confirmed", profile_id=row.profile_id, reason=reason, outcome=outcome
        )
    return {"network": row.network, "handle": row.handle, "profile_id": row.profile_id, "outcome": outcome}


def handles_of(conn: Connection, members: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(identifiers.c.value, identifiers.c.verified_at, identifiers.c.verified_by).where(
            identifiers.c.profile_id.in_(members), identifiers.c.type == "social"
        )
    )
    return [
        {"network": r.value.partition(":")[0], "handle": r.value.partition(":")[2], "since": r.verified_at}
        for r in rows
    ]


def pending_codes(conn: Connection, members: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(social_link_codes)
        .where(
            social_link_codes.c.profile_id.in_(members),
            social_link_codes.c.used_at.is_(None),
            social_link_codes.c.expires_at > utcnow(),
        )
        .order_by(social_link_codes.c.id.desc())
    )
    return [dict(r._mapping) for r in rows]


def unlink_handle(db: Database, profile_id: str, network: str, handle: str, *, actor: str) -> None:
    """The customer takes a handle off their profile: later mentions from it are a stranger's again."""
    handle = _rule(social_model.normalize_handle, network, handle)
    with db.write(lock=GRAPH_LOCK) as conn:
        _canonical, members = members_of(conn, profile_id)
        key = identifier_key(network, handle)
        if not conn.execute(
            identifiers.delete().where(identifiers.c.key == key, identifiers.c.profile_id.in_(members))
        ).rowcount:
            raise NotFound("handle", "handle_not_found")
        bump_version(conn)
        record_audit(
            conn,
            actor=actor,
            action="identifier.removed",
            channel="portal",
            profile_id=profile_id,
            identifier_type="social",
            network=network,
        )
