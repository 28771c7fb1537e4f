"""What the demo's CDNOW customers did besides buying: deterministic stories on the web, in the
app, in their inbox and on the phone, written as calls on the official Segment client.

The stories are chosen to show identity stitching: anonymous browsing that later signs in
(anonymousId joins userId), app sessions (device id joins userId), email engagement known only
by the address, and calls known only by the caller's number. Two deliberate edge cases: two
customer ids that share one email (the one-user_id rule keeps them apart) and a few messages a
buggy integration sends without an event name (they become dead letters).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rapport.demo.catalog import ALBUMS, BROWSERS, CALL_TOPICS, CAMPAIGNS, DEVICES, SCREENS
from rapport.demo.cdnow import Purchase, user_id
from rapport.demo.people import Person, invent_person

WEB, MOBILE, EMAIL, CALLS = "website", "mobile-app", "email", "call-center"
FIRST_DAY, LAST_DAY = date(1997, 1, 1), date(1998, 6, 30)


@dataclass
class Plan:
    """Calls per source, in send order, and who the interesting customers are."""

    # source -> [(lane, method, kwargs)]: one customer's calls share a lane, so they stay in order
    calls: dict[str, list[tuple[int, str, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    people: list[Person] = field(default_factory=list)
    heroes: list[Person] = field(default_factory=list)  # every channel, the ones to open first
    shared_email: tuple[Person, Person] | None = None  # two user ids, one address: must stay two profiles
    bad_messages: int = 0
    lanes: dict[int, int] = field(default_factory=dict)  # customer -> lane

    def add(self, source: str, method: str, customer: int, **kwargs: Any) -> None:
        kwargs["message_id"] = f"demo-{source}-{len(self.calls[source]) + 1}"
        self.calls[source].append((self.lanes.get(customer, 0), method, kwargs))

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.calls.values())


def _at(day: date, rng: random.Random, earliest: int = 8, latest: int = 23) -> datetime:
    return datetime.combine(day, time(rng.randint(earliest, latest - 1), rng.randint(0, 59), rng.randint(0, 59)), UTC)


def _clamp(day: date) -> date:
    return min(max(day, FIRST_DAY), LAST_DAY)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _album(rng: random.Random) -> tuple[str, dict[str, Any]]:
    title, artist, genre = rng.choice(ALBUMS)
    path = f"/music/{genre}/{(artist + '-' + title).lower().replace(' ', '-').replace(chr(39), '')}"
    return f"{title} - {artist}", {"path": path, "url": f"http://www.cdnow.com{path}", "category": genre}


class _Writer:
    """Writes one customer's stories into the plan."""

    def __init__(self, plan: Plan, rng: random.Random, person: Person, purchases: list[Purchase]) -> None:
        self.plan, self.rng, self.p, self.purchases = plan, rng, person, purchases

    def add(self, source: str, method: str, **kwargs: Any) -> None:
        self.plan.add(source, method, self.p.customer, **kwargs)

    def traits(self) -> dict[str, Any]:
        p = self.p
        return {"email": p.email, "firstName": p.first_name, "lastName": p.last_name, "name": p.name, "phone": p.phone}

    def web(self, second_browser: bool) -> None:
        rng, p = self.rng, self.p
        anon, agent = _uuid(rng), rng.choice(BROWSERS)
        chosen = [self.purchases[0], *rng.sample(self.purchases[1:], min(2, len(self.purchases) - 1))]
        for n, purchase in enumerate(sorted(chosen, key=lambda x: x.line)):
            at = _at(_clamp(purchase.day - timedelta(days=rng.randint(0, 3))), rng, latest=22)
            signed_in = n > 0 and rng.random() < 0.5
            at = self._pages(anon, p.user_id if signed_in else None, agent, at, rng.randint(2, 5))
            if n == 0:  # signs in to check out: the anonymous visitor becomes the customer
                self.add(
                    WEB,
                    "identify",
                    user_id=p.user_id,
                    anonymous_id=anon,
                    traits=self.traits(),
                    timestamp=at,
                    context={"userAgent": agent},
                )
                self._pages(anon, p.user_id, agent, at, 1, name="Checkout")
        if second_browser:  # the office PC: anonymous at first, then a sign-in joins it
            anon2, agent2 = _uuid(rng), rng.choice(BROWSERS)
            at = _at(_clamp(self.purchases[-1].day + timedelta(days=rng.randint(1, 20))), rng, 9, 17)
            at = self._pages(anon2, None, agent2, at, rng.randint(2, 4))
            self.add(
                WEB, "identify", user_id=p.user_id, anonymous_id=anon2, timestamp=at, context={"userAgent": agent2}
            )

    def _pages(
        self, anon: str, uid: str | None, agent: str, at: datetime, count: int, name: str | None = None
    ) -> datetime:
        for _ in range(count):
            at += timedelta(seconds=self.rng.randint(20, 240))
            title, props = (
                (name, {"path": "/checkout", "url": "http://www.cdnow.com/checkout"}) if name else _album(self.rng)
            )
            self.add(
                WEB,
                "page",
                user_id=uid,
                anonymous_id=anon,
                name=title,
                properties=props,
                timestamp=at,
                context={"userAgent": agent, "page": {"path": props["path"], "url": props["url"]}},
            )
        return at

    def mobile(self, creates_account: bool) -> None:
        rng, p = self.rng, self.p
        maker, model, os_name = rng.choice(DEVICES)
        context = {
            "device": {"id": _uuid(rng).upper(), "manufacturer": maker, "model": model, "type": os_name},
            "app": {"name": "CDNOW", "version": f"1.{rng.randint(0, 9)}"},
            "os": {"name": os_name},
        }
        anon = _uuid(rng)
        days = sorted(
            _clamp(x.day + timedelta(days=rng.randint(-2, 10)))
            for x in rng.sample(self.purchases, min(3, len(self.purchases)))
        )
        for n, day in enumerate(days):
            at = _at(day, rng, 7)
            if n == 0:
                self.add(MOBILE, "screen", anonymous_id=anon, name="Welcome", timestamp=at, context=context)
                at += timedelta(seconds=rng.randint(10, 90))
                self.add(
                    MOBILE,
                    "identify",
                    user_id=p.user_id,
                    anonymous_id=anon,
                    timestamp=at,
                    context=context,
                    traits=self.traits() if creates_account else {},
                )
            for screen in rng.sample(SCREENS, rng.randint(2, 4)):
                at += timedelta(seconds=rng.randint(5, 120))
                self.add(
                    MOBILE, "screen", user_id=p.user_id, anonymous_id=anon, name=screen, timestamp=at, context=context
                )

    def email(self) -> None:
        rng, p = self.rng, self.p
        mailed = [c for c in CAMPAIGNS if c[1] >= self.purchases[0].day]
        for campaign, sent in sorted(rng.sample(mailed, min(len(mailed), rng.randint(2, 5)))):
            at = _at(sent + timedelta(days=rng.randint(0, 2)), rng, 6)
            props = {
                "campaign_id": campaign,
                "campaign_name": f"CDNOW newsletter {sent:%B %Y}",
                "email_subject": f"New releases for {sent:%B}",
                "email_id": f"{campaign}-{p.customer}",
            }
            context = {"traits": {"email": p.email}}
            self.add(
                EMAIL,
                "track",
                anonymous_id=p.subscriber_id,
                event="Email Opened",
                properties=props,
                timestamp=at,
                context=context,
            )
            if rng.random() < 0.5:
                _, album = _album(rng)
                self.add(
                    EMAIL,
                    "track",
                    anonymous_id=p.subscriber_id,
                    event="Email Link Clicked",
                    properties={**props, "link_url": album["url"]},
                    timestamp=at + timedelta(seconds=rng.randint(5, 300)),
                    context=context,
                )

    def calls(self) -> None:
        rng, p = self.rng, self.p
        for purchase in rng.sample(self.purchases, min(len(self.purchases), rng.randint(1, 2))):
            at = _at(_clamp(purchase.day + timedelta(days=rng.randint(2, 12))), rng, 9, 20)
            topic, outcome = rng.choice(CALL_TOPICS)
            area, rest = p.phone.split(" ", 1)[1].split("-", 1)
            self.add(
                CALLS,
                "track",
                anonymous_id=f"call-{at:%Y%m%d}-{len(self.plan.calls[CALLS]) + 1:06d}",
                event="Call Center Contact",
                timestamp=at,
                properties={
                    "topic": topic,
                    "outcome": outcome,
                    "queue": "customer care",
                    "duration_seconds": rng.randint(60, 1500),
                    "order_date": purchase.day.isoformat(),
                },
                # the phone system gives the caller's number in national format
                context={"traits": {"phone": f"({area}) {rest}"}},
            )


def plan_stories(purchases: list[Purchase], customers: int, seed: int = 1997, lanes: int = 4) -> Plan:
    """Stories for `customers` CDNOW customers drawn (deterministically) from the purchases given."""
    rng = random.Random(seed)
    by_customer: dict[int, list[Purchase]] = defaultdict(list)
    for purchase in purchases:
        by_customer[purchase.customer].append(purchase)
    plan = Plan()
    _cast(plan, rng, by_customer, customers, lanes)
    _write(plan, rng, by_customer)
    for person in rng.sample(plan.people, min(3, len(plan.people))):
        # A tag-manager bug: track calls with an empty event name. The server dead-letters them.
        day = by_customer[person.customer][0].day
        plan.add(WEB, "track", person.customer, user_id=person.user_id, event="", timestamp=_at(day, rng))
        plan.bad_messages += 1
    return plan


def _cast(plan: Plan, rng: random.Random, by_customer: dict[int, list[Purchase]], customers: int, lanes: int) -> None:
    """Who takes part: invented people for a sample of the customers, the heroes (most purchases,
    every channel) and a couple sharing one family address."""
    chosen = sorted(rng.sample(sorted(by_customer), min(customers, len(by_customer))))
    plan.people = [invent_person(i, c, user_id(c), rng) for i, c in enumerate(chosen)]
    plan.lanes = {c: i % lanes for i, c in enumerate(chosen)}
    ranked = sorted(plan.people, key=lambda p: (-len(by_customer[p.customer]), p.customer))
    plan.heroes = ranked[:3]
    if len(ranked) >= 5:  # the second one's sign-in carries the first one's email
        first, other = ranked[3], ranked[4]
        shared = Person(other.customer, other.user_id, other.first_name, other.last_name, first.email, other.phone)
        plan.people[plan.people.index(other)] = shared
        plan.shared_email = (first, shared)
        plan.lanes[shared.customer] = plan.lanes[first.customer]  # so its sign-in follows the first's


def _write(plan: Plan, rng: random.Random, by_customer: dict[int, list[Purchase]]) -> None:
    second = plan.shared_email[1] if plan.shared_email else None
    later: list[tuple[_Writer, bool, bool]] = []
    for person in plan.people:
        hero = person in plan.heroes
        writer = _Writer(plan, rng, person, by_customer[person.customer])
        has_web = hero or (plan.shared_email is not None and person in plan.shared_email) or rng.random() < 0.85
        has_mobile = hero or not has_web or rng.random() < 0.35
        has_email = (hero or rng.random() < 0.7) and person is not second
        has_calls = hero or rng.random() < 0.3
        if has_web and person is not second:
            writer.web(second_browser=hero or rng.random() < 0.1)
        if has_mobile:
            writer.mobile(creates_account=not has_web)
        later.append((writer, has_email, has_calls))
    if second is not None:  # after everyone else's sign-ins, so the address already belongs to the first
        _Writer(plan, rng, second, by_customer[second.customer]).web(second_browser=False)
    for writer, has_email, has_calls in later:
        if has_email:
            writer.email()
        if has_calls:
            writer.calls()
