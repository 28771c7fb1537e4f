"""Helpers the console tests share (imported as `browser.console_seed`, tests/ being on the path).

The data: one customer seen on three channels, with one merge to undo.

Ada browses on the web (email), buys in a store (phone, under a POS id), then calls the call
center giving both: that call links the web and store profiles, so the store profile is merged
into the web one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from factories import basic_auth
from rapport.collect.service import Source

EMAIL = "ada@example.com"
PHONE = "+14155550100"


@dataclass
class Seeded:
    web: Source
    store: Source
    call_center: Source


def post_batch(http: Any, source: Source, messages: list[dict[str, Any]]) -> dict[str, Any]:
    res = http.post("/v1/batch", json={"batch": messages}, headers=basic_auth(source))
    assert res.status_code == 200, res.text
    return res.json()


def profile_of(http: Any, headers: dict[str, str], identifier: str) -> dict[str, Any] | None:
    """The profile holding `identifier` once everything acknowledged so far is applied."""
    res = http.get("/api/v1/profiles", params={"identifier": identifier, "consistent": "true"}, headers=headers)
    assert res.status_code == 200, res.text
    items = res.json()["items"]
    return items[0] if items else None


def seed_customer(http: Any, make_source: Callable[..., Source], headers: dict[str, str]) -> Seeded:
    seeded = Seeded(
        make_source("web", "Website"), make_source("store", "Store POS"), make_source("call_center", "Call center")
    )
    post_batch(
        http,
        seeded.web,
        [
            {"type": "page", "anonymousId": "anon-ada", "name": "Home", "timestamp": "2024-05-01T09:00:00Z"},
            {
                "type": "identify",
                "anonymousId": "anon-ada",
                "userId": "u-ada",
                "traits": {"email": "Ada@Example.com", "name": "Ada Lovelace", "plan": "gold"},
                "timestamp": "2024-05-01T09:01:00Z",
            },
            {
                "type": "track",
                "userId": "u-ada",
                "event": "Viewed Product",
                "properties": {"sku": "ENG-1", "price": 129},
                "timestamp": "2024-05-01T09:02:00Z",
            },
        ],
    )
    post_batch(
        http,
        seeded.store,
        [
            {
                "type": "identify",
                "anonymousId": "pos-77",
                "traits": {"phone": "(415) 555-0100", "city": "London"},
                "timestamp": "2024-05-02T14:00:00Z",
            },
            {
                "type": "track",
                "anonymousId": "pos-77",
                "event": "Order Completed",
                "properties": {"order_id": "S-1001", "total": 129},
                "timestamp": "2024-05-02T14:05:00Z",
            },
        ],
    )
    post_batch(
        http,
        seeded.call_center,
        [
            {
                "type": "identify",
                "anonymousId": "call-5",
                "traits": {"email": EMAIL, "phone": PHONE},
                "timestamp": "2024-05-03T10:00:00Z",
            },
            {
                "type": "track",
                "anonymousId": "call-5",
                "event": "Support Call Ended",
                "properties": {"topic": "setup"},
                "timestamp": "2024-05-03T10:20:00Z",
            },
        ],
    )
    merged = profile_of(http, headers, f"email:{EMAIL}")
    assert merged and len(merged["merged_profiles"]) == 1, merged
    return seeded


def reject_one(http: Any, source: Source) -> None:
    """A message with no id at all: accepted as a batch, dead-lettered as a message."""
    body = post_batch(http, source, [{"type": "track", "event": "Lost Cart", "properties": {"cart": "C-9"}}])
    assert body["rejected"] == 1, body


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
