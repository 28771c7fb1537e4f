"""What the demo's shop sells and what its customers bought: an album catalogue, the albums in each
CDNOW order, and one customer whose app usage gives a suggestion to answer.

CDNOW's file gives, for each of its 69,659 real orders, the customer, the day, how many CDs and what
they cost, but not which CDs. The demo fills in the albums: each customer has a favourite genre and
a second one (drawn from their id), and each CD of an order is an album of those genres, popular
ones more often, never one they already have. The recommender then learns from real order sizes,
timings and customers, and from tastes that hang together as real ones do.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from base64 import b64encode
from datetime import timedelta
from typing import Any

from rapport.collect.consumer import consumer_offset
from rapport.collect.service import Source, log_head
from rapport.consent.model import ConsentRecord
from rapport.consent.service import record_consent, update_preferences
from rapport.db.engine import Database
from rapport.decide.model import HelpLink, Item
from rapport.decide.service import owned_items, upsert_catalog
from rapport.decide.suggest_service import suggestions_for
from rapport.decide.training import train_model
from rapport.demo.catalog import ALBUMS
from rapport.identity.model import Identifier
from rapport.identity.service import members_of
from rapport.kernel.clock import utcnow
from rapport.profiles.service import find_by_identifier

MORE_ALBUMS = (
    ("Surfacing", "Sarah McLachlan", "pop"),
    ("Yourself or Someone Like You", "Matchbox Twenty", "rock"),
    ("Nimrod", "Green Day", "rock"),
    ("The Miseducation of Lauryn Hill", "Lauryn Hill", "r-and-b"),
    ("Backstreet's Back", "Backstreet Boys", "pop"),
    ("Life After Death", "The Notorious B.I.G.", "hip-hop"),
    ("Aquemini", "OutKast", "hip-hop"),
    ("Wu-Tang Forever", "Wu-Tang Clan", "hip-hop"),
    ("Vol. 2... Hard Knock Life", "Jay-Z", "hip-hop"),
    ("Romanza", "Andrea Bocelli", "classical"),
    ("Mutations", "Beck", "rock"),
    ("Version 2.0", "Garbage", "rock"),
    ("Odelay", "Beck", "rock"),
    ("Blur", "Blur", "rock"),
    ("Tragic Kingdom", "No Doubt", "rock"),
    ("Jagged Little Pill", "Alanis Morissette", "rock"),
    ("Fly", "Dixie Chicks", "country"),
    ("Wide Open Spaces", "Dixie Chicks", "country"),
    ("You Light Up My Life", "LeAnn Rimes", "country"),
    ("Everywhere", "Tim McGraw", "country"),
    ("Car Wheels on a Gravel Road", "Lucinda Williams", "country"),
    ("Homework", "Daft Punk", "electronic"),
    ("Play", "Moby", "electronic"),
    ("Music Has the Right to Children", "Boards of Canada", "electronic"),
    ("Endtroducing.....", "DJ Shadow", "trip-hop"),
    ("Maxinquaye", "Tricky", "trip-hop"),
    ("Dummy", "Portishead", "trip-hop"),
    ("Brown Sugar", "D'Angelo", "r-and-b"),
    ("My Way", "Usher", "r-and-b"),
    ("Songs in A Minor", "Alicia Keys", "r-and-b"),
    ("The Velvet Rope", "Janet Jackson", "r-and-b"),
    ("Astral Weeks", "Van Morrison", "folk"),
    ("Either/Or", "Elliott Smith", "folk"),
    ("Being There", "Wilco", "folk"),
    ("In the Aeroplane Over the Sea", "Neutral Milk Hotel", "folk"),
    ("A Love Supreme", "John Coltrane", "jazz"),
    ("Time Out", "The Dave Brubeck Quartet", "jazz"),
    ("Mingus Ah Um", "Charles Mingus", "jazz"),
    ("The Köln Concert", "Keith Jarrett", "jazz"),
    ("Four Seasons", "Nigel Kennedy", "classical"),
    ("Symphony No. 3", "Henryk Górecki", "classical"),
    ("Gladiator", "Hans Zimmer", "soundtrack"),
    ("Good Will Hunting", "Various Artists", "soundtrack"),
    ("Romeo + Juliet", "Various Artists", "soundtrack"),
    ("Buena Vista Social Club Presents Ibrahim Ferrer", "Ibrahim Ferrer", "world"),
    ("Ágaetis byrjun", "Sigur Rós", "world"),
    ("Vuelve", "Ricky Martin", "world"),
)
ALL_ALBUMS = tuple(dict.fromkeys((*ALBUMS, *MORE_ALBUMS)))
MAX_LINES = 8  # albums named per order; a bigger order's other CDs are left unnamed
HELP = (
    HelpLink("Track list and liner notes", "https://www.cdnow.com/help/liner-notes"),
    HelpLink("Caring for your CDs", "https://www.cdnow.com/help/cd-care"),
)
# What the app offers; the hero uses "New releases" most, the others now and then.
FEATURES = ("New releases", "Wish list", "Order tracking", "Listening booth", "Concert tickets")


def item_id(index: int) -> str:
    return f"cd-{index + 1:03d}"


def catalogue() -> list[Item]:
    return [
        Item(item_id(i), f"{title} - {artist}", genre, "durable", round(11.99 + (i % 5), 2), True, HELP)
        for i, (title, artist, genre) in enumerate(ALL_ALBUMS)
    ]


def load_catalogue(db: Database) -> int:
    items = catalogue()
    with db.write() as conn:
        upsert_catalog(conn, items)
    return len(items)


_GENRES = sorted({genre for _, _, genre in ALL_ALBUMS})
_BY_GENRE = {g: [i for i, a in enumerate(ALL_ALBUMS) if a[2] == g] for g in _GENRES}
_EVERY = list(range(len(ALL_ALBUMS)))


class Tastes:
    """Which albums each CDNOW customer's orders hold: deterministic for orders read in file order."""

    def __init__(self, seed: int = 1997) -> None:
        self.seed = seed
        self.owned: dict[int, set[int]] = {}
        self.people: dict[int, tuple[random.Random, list[int], list[int]]] = {}

    def _person(self, customer: int) -> tuple[random.Random, list[int], list[int]]:
        found = self.people.get(customer)
        if found is None:
            rng = random.Random(self.seed * 1_000_003 + customer)
            found = self.people[customer] = (rng, _BY_GENRE[rng.choice(_GENRES)], _BY_GENRE[rng.choice(_GENRES)])
        return found

    def albums(self, customer: int, count: int) -> list[str]:
        rng, first, second = self._person(customer)
        owned = self.owned.setdefault(customer, set())
        chosen: list[int] = []
        for _ in range(min(count, MAX_LINES)):
            roll = rng.random()
            pool = first if roll < 0.7 else second if roll < 0.9 else _EVERY
            fresh = [i for i in pool if i not in owned] or [i for i in _EVERY if i not in owned]
            if not fresh:
                break
            # popular albums (earlier in their genre's list) more often
            pick = fresh[min(int(rng.expovariate(0.6)), len(fresh) - 1)]
            chosen.append(pick)
            owned.add(pick)
        return [item_id(i) for i in chosen]


def products(album_ids: list[str], amount: float) -> list[dict[str, Any]]:
    names = catalogue_by_id()
    price = round(amount / len(album_ids), 2) if album_ids else 0.0
    return [
        {
            "product_id": a,
            "name": names[a].name,
            "category": names[a].category,
            "price": price,
            "quantity": 1,
        }
        for a in album_ids
    ]


_CATALOGUE: dict[str, Item] = {}


def catalogue_by_id() -> dict[str, Item]:
    if not _CATALOGUE:
        _CATALOGUE.update({item.id: item for item in catalogue()})
    return _CATALOGUE


def usage_messages(user_id: str, seed: int = 1997) -> list[dict[str, Any]]:
    """The hero's app over the last weeks: "New releases" most days, the rest now and then."""
    rng = random.Random(seed)
    now = utcnow()
    uses = ["New releases"] * 14 + ["Wish list"] * 3 + ["Order tracking"] * 2
    rng.shuffle(uses)
    return [
        {
            "type": "track",
            "event": "Feature Used",
            "userId": user_id,
            "properties": {"feature": feature},
            "timestamp": (now - timedelta(days=len(uses) - n, minutes=rng.randint(0, 600))).isoformat(),
            "messageId": f"demo-usage-{user_id}-{n}",
        }
        for n, feature in enumerate(uses)
    ]


def send_usage(base_url: str, source: Source, messages: list[dict[str, Any]]) -> int:
    """Through the Tracking API with the app's write key, as the app would; the log's offset."""
    body = json.dumps({"batch": messages}).encode()
    auth = b64encode(f"{source.write_key}:".encode()).decode()
    request = urllib.request.Request(
        f"{base_url}/v1/batch",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as res:
        return int(json.loads(res.read())["offset"])


def wait_for_consumers(db: Database, head: int, names: tuple[str, ...], timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(consumer_offset(db, name) < head for name in names):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the consumers {', '.join(names)} did not reach offset {head} in {timeout_s:.0f} s")
        time.sleep(0.1)


def pick_shopper(people: list[Any], purchases: list[Any]) -> Any:
    """The customer to open for decide: of those with stories, one with a handful of CDs (so their
    360 shows a few albums owned and room to recommend), the most CDs among those."""
    cds: dict[int, int] = {}
    for p in purchases:
        cds[p.customer] = cds.get(p.customer, 0) + p.quantity
    fitting = [p for p in people if SHOPPER_CDS[0] <= cds.get(p.customer, 0) <= SHOPPER_CDS[1]]
    return max(fitting, key=lambda p: (cds[p.customer], -p.customer)) if fitting else None


SHOPPER_CDS = (4, 12)


def open_the_shop(db: Database, base_url: str, app: Source, hero_user_id: str) -> dict[str, Any]:
    """Once the processor has caught up: the recommender trained on the CDNOW orders, and the hero
    (personal level, consented, as if they chose it in the portal) with a pending suggestion from
    their app's usage. What the summary prints."""
    with db.read() as conn:
        head = log_head(conn)
    wait_for_consumers(db, head, ("decide", "decide_usage"))
    started = time.monotonic()
    trained = train_model(db)
    train_s = time.monotonic() - started
    usage = usage_messages(hero_user_id)
    offset = send_usage(base_url, app, usage)
    wait_for_consumers(db, offset, ("profiles", "decide_usage"))
    with db.read() as conn:
        profile_id = find_by_identifier(conn, Identifier("user_id", hero_user_id))
    if profile_id is None:
        raise RuntimeError(f"the demo's hero {hero_user_id} has no profile")
    update_preferences(db, profile_id, {"personalization_level": "personal"}, actor="demo", via="portal")
    consent = ConsentRecord("personalization", "any", None, "granted", utcnow(), "demo: the customer's choice")
    record_consent(db, profile_id, consent, actor="demo", via="portal")
    asked = suggestions_for(db, profile_id, channel="mobile")
    with db.read() as conn:
        owned = owned_items(conn, members_of(conn, profile_id)[1])
    return {
        "items": len(ALL_ALBUMS),
        "model": trained,
        "train_s": train_s,
        "profile_id": asked["profile_id"],
        "owned": len(owned),
        "usage_sent": len(usage),
        "questions": [s["question"] for s in asked["pending"]],
    }
