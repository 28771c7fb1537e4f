"""The public channel directory: every way to reach the business, its hours (from its calendar),
the first response it promises (from its SLA policy), the issue types it handles, links to
self-service and third-party help, and how fast first responses actually came over the last 30 days
(p90, from real cases). Admins keep the entries (audited); anyone may read the published ones.
"""

from __future__ import annotations

import threading
from datetime import time, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.db.engine import Database
from rapport.db.metadata import JSONDoc, UTCDateTime, metadata
from rapport.kernel.audit import record_audit
from rapport.kernel.clock import utcnow
from rapport.kernel.errors import Invalid, NotFound
from rapport.service.calendar import WEEKDAYS, Calendar
from rapport.service.model import CHANNELS, CaseRuleError, choose_policy, clean_topic
from rapport.service.parity import percentile, states
from rapport.service.policies import ALWAYS_OPEN, check_name, load_calendars, load_policies
from rapport.service.sla import FIRST_RESPONSE
from rapport.service.store import case_events, cases, sla_calendars

WINDOW = timedelta(days=30)
LINK_KINDS = ("self-service", "third-party")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_TOPICS, MAX_LINKS = 30, 20

channel_directory = sa.Table(
    "channel_directory",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("contact", sa.String(500), nullable=False),  # the address, number or page to use
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("calendar", sa.String(64)),  # its hours; None: the calendar of its policy
    sa.Column("policy", sa.String(64)),  # its promise; None: the policy a normal case on the channel gets
    sa.Column("topics", JSONDoc, nullable=False),  # issue types it handles
    sa.Column("links", JSONDoc, nullable=False),  # [{"label", "url", "kind": self-service | third-party}]
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("published", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

FIELDS = ("channel", "name", "contact", "description", "calendar", "policy", "topics", "links", "position", "published")


def _text(spec: dict[str, Any], key: str, most: int, *, required: bool = True) -> str:
    value = spec.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not (1 if required else 0) <= len(value.strip()) <= most:
        raise Invalid(f"invalid_{key}", f"{key} is text of {'1' if required else '0'} to {most} characters")
    return value.strip()


def _link(item: Any) -> dict[str, str]:
    if not isinstance(item, dict) or set(item) - {"label", "url", "kind"}:
        raise Invalid("invalid_links", 'each link is {"label", "url", "kind": "self-service" or "third-party"}')
    label, url, kind = item.get("label"), item.get("url"), item.get("kind", "self-service")
    if not isinstance(label, str) or not 1 <= len(label.strip()) <= 100:
        raise Invalid("invalid_links", "a link's label is 1 to 100 characters")
    parts = urlsplit(url) if isinstance(url, str) and len(url) <= 2000 else None
    relative = parts is not None and not parts.scheme and not parts.netloc and str(url).startswith("/")
    if parts is None or not (relative or (parts.scheme in ("http", "https") and parts.netloc)) or " " in str(url):
        raise Invalid("invalid_links", "a link's url is an http(s) address or a path on this site (/portal/help)")
    if kind not in LINK_KINDS:
        raise Invalid("invalid_links", f"a link's kind is one of {', '.join(LINK_KINDS)}")
    return {"label": label.strip(), "url": str(url), "kind": kind}


def entry_values(spec: dict[str, Any]) -> dict[str, Any]:
    """A directory entry as stored, or Invalid with what is wrong."""
    if spec.get("channel") not in CHANNELS:
        raise Invalid("invalid_channel", f"channel is one of {', '.join(CHANNELS)}")
    topics = spec.get("topics") or []
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS:
        raise Invalid("invalid_topics", f"topics is a list of at most {MAX_TOPICS} issue types")
    try:
        cleaned = [clean_topic(t) if isinstance(t, str) else clean_topic(None) for t in topics]
    except CaseRuleError as exc:
        raise Invalid("invalid_topics", str(exc)) from None
    if any(t is None for t in cleaned):
        raise Invalid("invalid_topics", "each topic is an issue type in lower-case words")
    links = spec.get("links") or []
    if not isinstance(links, list) or len(links) > MAX_LINKS:
        raise Invalid("invalid_links", f"links is a list of at most {MAX_LINKS} links")
    position = spec.get("position", 100)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
        raise Invalid("invalid_position", "position is a whole number from 0 to 10000")
    published = spec.get("published", True)
    if not isinstance(published, bool):
        raise Invalid("invalid_published", "published is true or false")
    calendar, policy = spec.get("calendar"), spec.get("policy")
    return {
        "channel": spec["channel"],
        "name": _text(spec, "name", 100),
        "contact": _text(spec, "contact", 500),
        "description": _text(spec, "description", 2000, required=False),
        "calendar": None if calendar in (None, "") else check_name(str(calendar), "calendar"),
        "policy": None if policy in (None, "") else check_name(str(policy), "policy"),
        "topics": sorted(set(t for t in cleaned if t)),
        "links": [_link(item) for item in links],
        "position": position,
        "published": published,
    }


def set_entry(db: Database, key: str, spec: dict[str, Any], actor: str) -> dict[str, Any]:
    check_name(key, "entry")
    values = entry_values(spec)
    with db.write() as conn:
        if (
            values["calendar"]
            and values["calendar"] != ALWAYS_OPEN
            and (
                conn.execute(sa.select(sla_calendars.c.name).where(sla_calendars.c.name == values["calendar"])).first()
                is None
            )
        ):
            raise NotFound(f"calendar {values['calendar']!r}", "unknown_calendar")
        if values["policy"] and values["policy"] not in load_policies(conn):
            raise NotFound(f"policy {values['policy']!r}", "unknown_policy")
        values |= {"updated_at": utcnow(), "updated_by": actor[:200]}
        if not conn.execute(channel_directory.update().where(channel_directory.c.key == key).values(**values)).rowcount:
            conn.execute(channel_directory.insert().values(key=key, **values))
        record_audit(conn, actor=actor, action="service.channel_set", channel="api", entry=key)
    return {"key": key, **values}


def delete_entry(db: Database, key: str, actor: str) -> None:
    with db.write() as conn:
        if not conn.execute(channel_directory.delete().where(channel_directory.c.key == key)).rowcount:
            raise NotFound(f"directory entry {key!r}", "entry_not_found")
        record_audit(conn, actor=actor, action="service.channel_deleted", channel="api", entry=key)


def list_entries(conn: Connection) -> list[dict[str, Any]]:
    query = sa.select(channel_directory).order_by(channel_directory.c.position, channel_directory.c.key)
    return [dict(r._mapping) for r in conn.execute(query)]


def _clock(t: time | None) -> str:
    return "24:00" if t is None else t.strftime("%H:%M")


def hours_of(calendar: Calendar) -> dict[str, Any]:
    days = [
        {
            "day": DAY_NAMES[i],
            "key": WEEKDAYS[i],
            "open": [[_clock(s), _clock(e)] for s, e in calendar.hours.get(i, ())],
        }
        for i in range(7)
    ]
    always = all(d["open"] == [["00:00", "24:00"]] for d in days) and calendar.country is None and not calendar.holidays
    holidays = None
    if calendar.country:
        region = calendar.country + (f"-{calendar.subdivision}" if calendar.subdivision else "")
        holidays = f"closed on public holidays ({region})"
    elif calendar.holidays:
        holidays = "closed on some days of the year"
    return {"timezone": calendar.timezone, "always_open": always, "days": days, "holidays": holidays}


_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


def _actual_p90(conn: Connection) -> dict[str, dict[str, Any]]:
    """By channel: the p90 of first responses (business seconds, as promised) of the cases opened in
    the last 30 days, and how many counted. Kept until a case changes (the newest history row)."""
    now = utcnow()
    mark = (conn.execute(sa.select(sa.func.max(case_events.c.id))).scalar(), now.date(), now.hour)
    with _CACHE_LOCK:
        if _CACHE.get("mark") == mark:
            return dict(_CACHE["value"])
    rows = conn.execute(
        sa.select(cases.c.id, cases.c.channel).where(cases.c.opened_at >= now - WINDOW, cases.c.merged_into.is_(None))
    ).all()
    clocks = states(conn, [r.id for r in rows], now)
    taken: dict[str, list[float]] = {}
    for row in rows:
        clock = clocks[row.id].clocks.get(FIRST_RESPONSE)
        if clock is not None and clock.state in ("met", "missed"):
            taken.setdefault(row.channel, []).append(clock.elapsed_s)
    value = {ch: {"p90_s": percentile(v, 0.9), "cases": len(v)} for ch, v in taken.items()}
    with _CACHE_LOCK:
        _CACHE.update(mark=mark, value=value)
    return value


def directory(conn: Connection, *, published_only: bool = True) -> list[dict[str, Any]]:
    """The directory as the public reads it."""
    calendars, policies = load_calendars(conn), load_policies(conn)
    actual = _actual_p90(conn)
    found = []
    for entry in list_entries(conn):
        if published_only and not entry["published"]:
            continue
        name = entry["policy"] or choose_policy([p.rule for p in policies.values()], entry["channel"], None, "normal")
        policy = policies.get(name) if name else None
        calendar_name = entry["calendar"] or (policy.calendar if policy else ALWAYS_OPEN)
        promise = policy.targets.first_response_s if policy else None
        seen = actual.get(entry["channel"], {"p90_s": None, "cases": 0})
        found.append(
            {
                "key": entry["key"],
                "channel": entry["channel"],
                "name": entry["name"],
                "contact": entry["contact"],
                "description": entry["description"],
                "hours": hours_of(calendars.get(calendar_name, Calendar())),
                "promised_first_response": {
                    "minutes": None if promise is None else promise // 60,
                    "business_hours": calendar_name != ALWAYS_OPEN,
                },
                "topics": entry["topics"],
                "links": entry["links"],
                "actual_first_response": {
                    "p90_minutes": None if seen["p90_s"] is None else round(seen["p90_s"] / 60, 1),
                    "cases": seen["cases"],
                    "days": WINDOW.days,
                },
            }
        )
    return found


def duration_text(minutes: float | None) -> str | None:
    """Minutes as people say them: 45 minutes, 4 hours, 2 days, 1 day 6 hours."""
    if minutes is None:
        return None
    total = round(minutes)
    if total < 60:
        return f"{total} minute{'s' if total != 1 else ''}"
    days, rest = divmod(total, 1440)
    hours = round(rest / 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    return " ".join(parts) or "0 minutes"
