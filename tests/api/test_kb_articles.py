"""Help articles through the staff API, the console and the help center: authoring, versions,
who may do what, stored XSS, clicks, votes and the content-gap report."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

ARTICLE = {
    "title": "Set up your new router",
    "body": "1. Plug it in.\n2. Open the **app**.\n\nSee [our guide](https://example.com/guide).",
    "category": "devices",
    "known_questions": ["how do I install the router", "router will not connect"],
    "catalogue_items": ["sku-router-x1"],
}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_staff_write_version_publish_and_archive_an_article(client: TestClient, admin_headers: dict[str, str]) -> None:
    made = client.post("/api/v1/kb/articles", json=ARTICLE, headers=admin_headers)
    assert made.status_code == 201, made.text
    article = made.json()
    assert (article["status"], article["version"], article["slug"]) == ("draft", 1, "set-up-your-new-router")
    assert article["catalogue_items"] == ["sku-router-x1"]
    assert '<a href="https://example.com/guide" rel="nofollow noopener noreferrer">' in article["html"]
    edited = client.patch(
        f"/api/v1/kb/articles/{article['id']}",
        json={"title": "Set up your router", "expected_version": 1},
        headers=admin_headers,
    )
    assert edited.json()["version"] == 2
    stale = client.patch(
        f"/api/v1/kb/articles/{article['id']}", json={"body": "x", "expected_version": 1}, headers=admin_headers
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "version_conflict")
    versions = client.get(f"/api/v1/kb/articles/{article['id']}/versions", headers=admin_headers).json()["items"]
    assert [v["title"] for v in versions] == ["Set up your router", "Set up your new router"]
    assert client.get("/v1/kb/articles/set-up-your-new-router").status_code == 404  # a draft
    published = client.post(
        f"/api/v1/kb/articles/{article['id']}/status", json={"action": "publish"}, headers=admin_headers
    )
    assert published.json()["status"] == "published"
    public = client.get("/v1/kb/articles/set-up-your-new-router").json()
    assert public["title"] == "Set up your router" and "known_questions" not in public
    again = client.post(
        f"/api/v1/kb/articles/{article['id']}/status", json={"action": "archive"}, headers=admin_headers
    )
    assert again.json()["status"] == "archived"
    twice = client.post(
        f"/api/v1/kb/articles/{article['id']}/status", json={"action": "archive"}, headers=admin_headers
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")


def test_a_slug_is_one_articles(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert (
        client.post("/api/v1/kb/articles", json={**ARTICLE, "slug": "router"}, headers=admin_headers).status_code == 201
    )
    taken = client.post("/api/v1/kb/articles", json={**ARTICLE, "slug": "router"}, headers=admin_headers)
    assert (taken.status_code, taken.json()["code"]) == (409, "slug_taken")
    other = client.post("/api/v1/kb/articles", json=ARTICLE, headers=admin_headers).json()
    assert other["slug"] == "set-up-your-new-router"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "  "}, "invalid_title"),
        ({"title": "x", "slug": "Not A Slug"}, "invalid_slug"),
        ({"title": "x", "locale": "english!"}, "invalid_locale"),
        ({"title": "x", "category": "<b>"}, "invalid_category"),
        ({"title": "x", "body": "a\x00b"}, "invalid_body"),
        ({"title": "x", "known_questions": ["q" * 501]}, "invalid_questions"),
        ({"title": "x", "status": "live"}, "invalid_body"),
        ({"title": "x" * 201}, "invalid_body"),
        ({}, "invalid_body"),
    ],
)
def test_bad_articles_are_refused_with_a_code(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, Any], code: str
) -> None:
    answer = client.post("/api/v1/kb/articles", json=body, headers=admin_headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] in (code, "invalid_request", "invalid_body")


def test_strangers_and_lesser_roles_cannot_write_or_read_drafts(
    client: TestClient, make_token: Callable[[str], str], admin_headers: dict[str, str]
) -> None:
    article = client.post("/api/v1/kb/articles", json=ARTICLE, headers=admin_headers).json()
    agent = {"Authorization": f"Bearer {make_token('agent')}"}
    assert client.patch(f"/api/v1/kb/articles/{article['id']}", json={"title": "ok"}, headers=agent).status_code == 200
    calls = [
        ("get", "/api/v1/kb/articles", None),
        ("post", "/api/v1/kb/articles", ARTICLE),
        ("get", f"/api/v1/kb/articles/{article['id']}", None),
        ("patch", f"/api/v1/kb/articles/{article['id']}", {"title": "pwned"}),
        ("post", f"/api/v1/kb/articles/{article['id']}/status", {"action": "publish"}),
        ("post", "/api/v1/kb/synonyms", {"members": ["a", "b"]}),
        ("get", "/api/v1/kb/gaps", None),
    ]
    for role in ("marketer", "analyst", "privacy"):
        headers = {"Authorization": f"Bearer {make_token(role)}"}
        for method, path, body in calls:
            answer = client.request(method, path, json=body, headers=headers)
            assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), (role, path)
    for method, path, body in calls:
        assert client.request(method, path, json=body).status_code == 401
    assert client.get(f"/api/v1/kb/articles/{article['id']}", headers=admin_headers).json()["title"] == "ok"


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '[x](https://a.example/" onmouseover="alert(1))',
    "<a href='javascript:alert(1)'>x</a>",
    "<iframe src=//evil.example></iframe>",
    "[x](//evil.example/path)",
]


def test_stored_xss_through_an_article_never_reaches_a_reader(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = "\n\n".join(XSS)
    made = client.post(
        "/api/v1/kb/articles",
        json={"title": "<script>alert('t')</script>", "body": body, "slug": "xss", "status": "published"},
        headers=admin_headers,
    ).json()
    page = client.get("/portal/help/articles/xss").text
    for html in (made["html"], client.get("/v1/kb/articles/xss").json()["html"], page):
        lowered = html.lower()
        assert "<script" not in lowered and "<img src=x" not in lowered and "<iframe" not in lowered
        assert "javascript:" not in re.sub(r"&[a-z]+;", "", " ".join(re.findall(r'href="[^"]*"|src="[^"]*"', lowered)))
        assert (
            'href="data:' not in lowered
            and 'href="//' not in lowered
            and "onmouseover=" not in re.sub(r"&quot;|%22", "", " ".join(re.findall(r"<a [^>]*>", lowered)))
        )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, as typed
    assert client.get("/portal/help/articles/xss").headers["content-security-policy"].startswith("default-src 'self'")


def test_clicks_votes_and_the_content_gap_report(client: TestClient, admin_headers: dict[str, str]) -> None:
    made = client.post("/api/v1/kb/articles", json={**ARTICLE, "status": "published"}, headers=admin_headers).json()
    found = client.get("/v1/kb/search", params={"q": "router"}).json()
    assert [i["slug"] for i in found["items"]] == [made["slug"]]
    assert (
        client.post(f"/v1/kb/searches/{found['search_id']}/clicks", json={"article_id": made["id"]}).status_code == 204
    )
    assert client.post(f"/v1/kb/searches/{found['search_id']}/clicks", json={"article_id": 999}).status_code == 400
    assert client.post("/v1/kb/searches/not-a-search/clicks", json={"article_id": made["id"]}).status_code == 404
    for q in ("cancel my subscription", "cancel my subscription", "router colour"):
        client.get("/v1/kb/search", params={"q": q})
    assert client.post(f"/v1/kb/articles/{made['slug']}/feedback", json={"helpful": True}).status_code == 204
    assert client.post(f"/v1/kb/articles/{made['slug']}/feedback", json={"helpful": "maybe"}).status_code == 400
    assert client.post("/v1/kb/articles/no-such/feedback", json={"helpful": False}).status_code == 404
    gaps = {g["normalized"]: g for g in client.get("/api/v1/kb/gaps", headers=admin_headers).json()["items"]}
    assert (gaps["cancel subscription"]["searches"], gaps["cancel subscription"]["zero_results"]) == (2, 2)
    assert gaps["router colour"]["no_click"] == 1
    assert "router" not in gaps  # found and opened
    listed = client.get("/api/v1/kb/articles", headers=admin_headers).json()["items"]
    assert (listed[0]["helpful"], listed[0]["not_helpful"]) == (1, 0)


def test_search_is_limited_per_client(client: TestClient) -> None:
    client.app.state.kb_limits = None  # type: ignore[attr-defined]
    del client.app.state.kb_limits  # type: ignore[attr-defined]
    codes = [client.get("/v1/kb/search", params={"q": "router", "typing": "true"}).status_code for _ in range(125)]
    assert codes.count(200) == 120 and codes[-1] == 429


def test_console_authoring_synonyms_and_gaps(
    client: TestClient, admin_token: str, make_token: Callable[[str], str]
) -> None:
    client.post("/console/sign-in", data={"token": make_token("agent")})
    new = client.get("/console/kb/new")
    assert new.status_code == 200
    form = {
        "csrf": _csrf(new.text),
        "title": "Pair your headphones",
        "body": "Hold the button for **5 seconds**.",
        "category": "audio",
        "locale": "en",
        "known_questions": "headphones won't pair\nbluetooth pairing",
        "catalogue_items": "sku-1, sku-2",
    }
    created = client.post("/console/kb/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    page = client.get(created.headers["location"])
    assert "Article created as a draft" in page.text and "<strong>5 seconds</strong>" in page.text
    article_url = created.headers["location"].split("?")[0]
    assert client.get("/v1/kb/search", params={"q": "headphones"}).json()["items"] == []
    client.post(f"{article_url}/publish", data={"csrf": _csrf(page.text)})
    assert client.get("/v1/kb/search", params={"q": "headphnes"}).json()["items"][0]["title"] == "Pair your headphones"
    saved = client.post(article_url, data={**form, "title": "Pair headphones", "version": "1"})
    assert "Saved as a new version" in saved.text and "Pair headphones" in saved.text
    synonyms = client.get("/console/kb/synonyms")
    client.post("/console/kb/synonyms", data={"csrf": _csrf(synonyms.text), "members": "earbuds, headphones"})
    assert client.get("/v1/kb/search", params={"q": "earbuds"}).json()["items"][0]["title"] == "Pair headphones"
    client.get("/v1/kb/search", params={"q": "warranty claim"})
    gaps = client.get("/console/kb/gaps")
    assert "warranty claim" in gaps.text
    refused = client.post("/console/kb/new", data={**form, "csrf": "forged"})
    assert refused.status_code == 403


def test_console_pages_refuse_lesser_roles(client: TestClient, make_token: Callable[[str], str]) -> None:
    assert client.get("/console/kb", follow_redirects=False).status_code == 303  # signed out: to sign in
    client.post("/console/sign-in", data={"token": make_token("marketer")})
    for path in (
        "/console/kb",
        "/console/kb/new",
        "/console/kb/synonyms",
        "/console/kb/gaps",
        "/console/kb/articles/1",
    ):
        answer = client.get(path)
        assert answer.status_code == 403 and "may not write help articles" in answer.text, path


def test_help_center_shares_results_by_address_and_never_shows_a_draft(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    client.post("/api/v1/kb/articles", json={**ARTICLE, "status": "published"}, headers=admin_headers)
    client.post(
        "/api/v1/kb/articles", json={**ARTICLE, "title": "Router secret draft", "slug": "draft"}, headers=admin_headers
    )
    page = client.get("/portal/help", params={"q": "rooter"})
    assert page.status_code == 200
    assert "Set up your new router" in page.text and "secret draft" not in page.text
    assert "Showing results for <strong>router</strong>" in page.text
    link = re.search(r'href="(/portal/help/articles/[^"]+)"', page.text)
    assert link
    article = client.get(link.group(1).replace("&amp;", "&"))
    assert "Was this helpful?" in article.text
    voted = client.post("/portal/help/articles/set-up-your-new-router/feedback", data={"helpful": "no"})
    assert "we will improve it" in voted.text
    assert client.get("/portal/help/articles/draft").status_code == 404
    assert client.get("/portal/help", params={"q": '"*:()-'}).status_code == 200
    foreign = client.post(
        "/portal/help/articles/set-up-your-new-router/feedback",
        data={"helpful": "yes"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
