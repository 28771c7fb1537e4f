"""Helpers the portal tests share (imported as `browser.portal_seed`, tests/ being on the path).

Two customers who must never see each other's data: Ada (web, email) and Bob (web and store).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from browser.console_seed import post_batch, profile_of
from rapport.collect.service import Source
from rapport.consent.unsubscribe import UnsubscribeTarget, make_token
from rapport.db.engine import Database

PORTAL_PAGES = ("/portal", "/portal/data", "/portal/download", "/portal/erase")
PORTAL_POSTS = (
    "/portal/consents",
    "/portal/personalization",
    "/portal/contact",
    "/portal/display",
    "/portal/download",
    "/portal/erase",
)


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    user_id: str
    name: str


def seed_person(http: Any, source: Source, headers: dict[str, str], user_id: str, email: str, name: str) -> Person:
    post_batch(
        http,
        source,
        [
            {
                "type": "identify",
                "userId": user_id,
                "traits": {"email": email, "name": name},
                "timestamp": "2024-05-01T09:01:00Z",
            },
            {
                "type": "track",
                "userId": user_id,
                "event": f"Viewed {name}'s basket",
                "properties": {"secret_note": f"note-of-{user_id}"},
                "timestamp": "2024-05-01T09:02:00Z",
            },
        ],
    )
    profile = profile_of(http, headers, f"user_id:{user_id}")
    assert profile, user_id
    return Person(profile["id"], email, user_id, name)


def seed_two(http: Any, make_source: Callable[..., Source], headers: dict[str, str]) -> tuple[Person, Person]:
    # The shop's backend (server trust) knows them, so their addresses receive mail and open the portal.
    shop = make_source("store", "Shop")
    ada = seed_person(http, shop, headers, "u-ada", "ada@example.com", "Ada Lovelace")
    bob = seed_person(http, shop, headers, "u-bob", "bob@example.com", "Bob Marley")
    return ada, bob


def link_path(http: Any, headers: dict[str, str], profile_id: str) -> str:
    """A fresh one-time sign-in link, as a path on whichever server the test talks to."""
    res = http.post(f"/api/v1/profiles/{profile_id}/portal-link", headers=headers)
    assert res.status_code == 200, res.text
    return urlsplit(res.json()["url"]).path


def unsubscribe_path(db: Database, person: Person, purpose: str = "marketing") -> str:
    return "/u/" + make_token(db, UnsubscribeTarget(person.id, purpose, "email", person.email))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)
