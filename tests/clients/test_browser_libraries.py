"""The browser libraries websites use, unchanged, in Chromium against a live Rapport.

Segment's `@segment/analytics-next` and RudderStack's `@rudderstack/analytics-js` (v3) and
`rudder-sdk-js` (v2) come from npm at the exact versions in tests/clients/browser/package-lock.json,
bundled by esbuild (scripts/build-browser-sdks) and served by a small static server: the page is on
http://localhost:PORT and Rapport on http://127.0.0.1:PORT, another origin, as a website and its
Rapport would be, so every request goes through CORS as it would there. Nothing may come from a CDN
(and this machine reaches none): every request the pages make is recorded and must be to one of the two.

What lands is read back as staff read it, through the staff API.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import uvicorn

from browser.chromium import launched
from conftest import LiveServer, require
from rapport.app import create_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "browser"
BUILD = ROOT / "scripts" / "build-browser-sdks"
BUNDLES = ("segment.js", "rudderstack-v3.js", "rudderstack-v2.js")
DEPRECATED_V2 = "This RudderStack JavaScript SDK package is deprecated"  # what v2 logs at every load


@pytest.fixture(scope="module")
def bundles() -> Path:
    """The libraries, built (a quick no-op when they already are)."""
    require(bool(shutil.which("node") and shutil.which("npm")), f"node and npm are needed to build them ({BUILD})")
    built = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=600, check=False)
    require(built.returncode == 0, f"{BUILD} failed:\n{built.stdout}{built.stderr}")
    missing = [name for name in BUNDLES if not (HERE / "dist" / name).is_file()]
    require(not missing, f"{BUILD} left no {', '.join(missing)} in {HERE / 'dist'}")
    return HERE / "dist"


class _Files(SimpleHTTPRequestHandler):
    """The test website: pages/ and the bundles in dist/, from one folder of links."""

    def log_message(self, *_args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@pytest.fixture(scope="module")
def website(bundles: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("website")
    for path in [*(HERE / "pages").glob("*.html"), *(bundles / name for name in BUNDLES)]:
        (folder / path.name).symlink_to(path)
    (folder / "favicon.ico").write_bytes(b"")  # Chromium asks for it; a 404 would be logged as an error
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Files, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class PublicServer(LiveServer):
    """The live server with RAPPORT_PUBLIC_URL set to its own address, as `rapport serve` sets it, and
    a record of the requests that reach it (a beacon sent as a page goes is seen by no page event)."""

    def __init__(self, settings: Any, db: Any) -> None:
        super().__init__(settings, db)
        public = settings.model_copy(update={"public_url": self.url})
        app = create_app(public, db)
        self.seen: list[tuple[str, str, str, str]] = []  # method, path, query, content type

        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                kind = dict(scope["headers"]).get(b"content-type", b"").decode()
                self.seen.append((scope["method"], scope["path"], scope["query_string"].decode(), kind))
            await app(scope, receive, send)

        config = uvicorn.Config(recorded, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture
def rapport(settings: Any, db: Any) -> Iterator[PublicServer]:
    with PublicServer(settings, db) as server:
        yield server


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launched() as browser:
        yield browser


@dataclass
class Visitor:
    """One person's browser (its own cookies and storage), with every request it makes recorded."""

    tab: Any
    site: str
    rapport: str
    key: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def open(self, page: str, **options: str) -> None:
        self.tab.goto(f"{self.site}/{page}?{urlencode({'key': self.key, 'rapport': self.rapport, **options})}")

    def paths(self, prefix: str = "") -> list[str]:
        base = urlsplit(self.rapport)
        return [
            urlsplit(url).path
            for url in self.requests
            if urlsplit(url).netloc == base.netloc and urlsplit(url).path.startswith(prefix)
        ]

    def assert_all_went_well(self) -> None:
        """Every request to the website or Rapport (none to a CDN or a vendor), and no error logged:
        a refused preflight, a failed delivery or a plugin the library could not load would be."""
        allowed = {urlsplit(self.site).netloc, urlsplit(self.rapport).netloc}
        elsewhere = [url for url in self.requests if urlsplit(url).netloc not in allowed]
        assert elsewhere == [], "the page asked a CDN or a vendor for something"
        assert [text for text in self.console_errors if not text.startswith(DEPRECATED_V2)] == []


@pytest.fixture
def visitor(chromium: Any, website: str, rapport: PublicServer, source: Any) -> Iterator[Callable[[], Visitor]]:
    people: list[Visitor] = []

    def new_visitor() -> Visitor:
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        person = Visitor(context.new_page(), website, rapport.url, source.write_key)
        people.append(person)
        context.on("request", lambda request: person.requests.append(request.url))
        person.tab.on("console", lambda m: person.console_errors.append(m.text) if m.type == "error" else None)
        return person

    yield new_visitor
    for person in people:
        person.tab.context.close()


@pytest.fixture
def staff(rapport: PublicServer, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rapport.url, headers=admin_headers, timeout=15) as client:
        yield client


def profile_of(staff: httpx.Client, identifier: str) -> dict[str, Any] | None:
    res = staff.get("/api/v1/profiles", params={"identifier": identifier, "consistent": "true"})
    assert res.status_code == 200, res.text
    items = res.json()["items"]
    return items[0] if items else None


def wait_for_events(staff: httpx.Client, identifier: str, count: int, timeout_s: float = 15) -> dict[str, Any]:
    """The profile holding `identifier` once it has `count` events: browser libraries send when they
    choose, so staff wait for what the page sent."""
    deadline = time.monotonic() + timeout_s
    while True:
        profile = profile_of(staff, identifier)
        if profile and profile["event_count"] >= count:
            assert profile["event_count"] == count, "more events than the page sent"
            return profile
        assert time.monotonic() < deadline, f"{identifier}: {profile and profile['event_count']} of {count} events"
        time.sleep(0.1)


def timeline(staff: httpx.Client, profile: dict[str, Any]) -> list[dict[str, Any]]:
    res = staff.get(f"/api/v1/profiles/{profile['id']}/timeline")
    assert res.status_code == 200, res.text
    return [item["payload"] for item in res.json()["items"]]


def identifiers_of(profile: dict[str, Any]) -> set[str]:
    return {f"{i['type']}:{i['value']}" for i in profile["identifiers"]}


# -- Segment analytics-next ---------------------------------------------------------------------------

# The call resolves once the library has delivered the event, or given up; a library that never
# loads (no settings) would never resolve it, so the page gives it 10 s (Playwright waits forever).
SEGMENT_SEND = """async ([method, ...args]) => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 10 s')), 10000))
    const ctx = await Promise.race([window.analytics[method](...args), late])
    const [analytics] = await window.analytics
    const failed = ctx.failedDelivery()
    return {anonymousId: analytics.user().anonymousId(), failed: failed ? String(failed.reason) : null}
}"""


def test_segment_analytics_next_sends_page_identify_and_track(visitor, staff, rapport):
    """The page gives the library its write key and Rapport as `cdnURL`, nothing else: where to send
    comes from the settings Rapport answers."""
    person = visitor()
    person.open("segment.html")
    first = person.tab.evaluate(SEGMENT_SEND, ["page", "Pricing", {"plan": "pro"}])
    assert first["failed"] is None
    person.tab.reload()
    again = person.tab.evaluate(SEGMENT_SEND, ["page", "Pricing", {"plan": "team"}])
    assert again == first  # the same anonymousId after a reload
    signed_up = person.tab.evaluate(SEGMENT_SEND, ["identify", "seg-user", {"email": "seg@example.com"}])
    ordered = person.tab.evaluate(SEGMENT_SEND, ["track", "Order Completed", {"revenue": 42}])
    assert signed_up["failed"] is None and ordered["failed"] is None

    profile = wait_for_events(staff, "email:seg@example.com", 4)
    assert {"user_id:seg-user", f"anonymous_id:{first['anonymousId']}"} <= identifiers_of(profile)
    events = timeline(staff, profile)
    assert sorted(e["type"] for e in events) == ["identify", "page", "page", "track"]
    assert {e["properties"].get("plan") for e in events if e["type"] == "page"} == {"pro", "team"}
    assert next(e for e in events if e["type"] == "track")["properties"]["revenue"] == 42

    settings = f"/v1/projects/{person.key}/settings"
    assert person.paths() == [settings, "/v1/p", settings, "/v1/p", "/v1/i", "/v1/t"]  # apiHost from settings
    assert {("OPTIONS", "/v1/p"), ("OPTIONS", "/v1/i")} <= {(m, p) for m, p, _q, _k in rapport.seen}  # preflights
    person.assert_all_went_well()
    assert person.tab.evaluate("window.failures") == []


def test_segment_keepalive_delivers_what_was_sent_as_the_page_was_left(visitor, staff, rapport):
    """With `keepalive` (the library's option for events sent as the page goes) the request outlives
    the page; Chromium sends such a request, and its preflight, from outside the page."""
    person = visitor()
    person.open("segment.html", keepalive="1")
    ready = person.tab.evaluate(SEGMENT_SEND, ["page", "Cart"])
    with person.tab.expect_request(lambda r: urlsplit(r.url).path == "/v1/t"):
        person.tab.evaluate("() => { window.analytics.track('Checkout Left', {step: 2}) }")
    person.tab.goto(f"{person.site}/left.html")  # at once, as a click on a link does

    profile = wait_for_events(staff, f"anonymous_id:{ready['anonymousId']}", 2)
    assert {e.get("event") for e in timeline(staff, profile)} == {None, "Checkout Left"}
    assert ("OPTIONS", "/v1/t") in {(m, p) for m, p, _q, _k in rapport.seen}
    person.assert_all_went_well()


# -- RudderStack v3 and v2 ----------------------------------------------------------------------------

RUDDER = {"v3": "rudderstack-v3.html", "v2": "rudderstack-v2.html"}


def _rudder_ready(person: Visitor) -> str:
    person.tab.wait_for_function("window.rudderReady === true")
    return str(person.tab.evaluate("window.rudderanalytics.getAnonymousId()"))


@pytest.mark.parametrize("version", RUDDER)
def test_rudderstack_sends_page_identify_and_track(visitor, staff, rapport, version):
    """The page names Rapport as the data plane and as `configUrl`; the source config comes from there."""
    person = visitor()
    person.open(RUDDER[version])
    anonymous_id = _rudder_ready(person)
    person.tab.evaluate("window.rudderanalytics.page('Shop', 'Pricing', {plan: 'pro'})")
    wait_for_events(staff, f"anonymous_id:{anonymous_id}", 1)
    person.tab.reload()
    assert _rudder_ready(person) == anonymous_id
    person.tab.evaluate("window.rudderanalytics.page('Shop', 'Pricing', {plan: 'team'})")
    person.tab.evaluate(f"window.rudderanalytics.identify('rud{version}-user', {{email: 'rud{version}@example.com'}})")
    person.tab.evaluate("window.rudderanalytics.track('Order Completed', {revenue: 42})")

    profile = wait_for_events(staff, f"email:rud{version}@example.com", 4)
    assert {f"user_id:rud{version}-user", f"anonymous_id:{anonymous_id}"} <= identifiers_of(profile)
    events = timeline(staff, profile)
    assert sorted(e["type"] for e in events) == ["identify", "page", "page", "track"]
    assert {e["properties"].get("plan") for e in events if e["type"] == "page"} == {"pro", "team"}

    assert person.paths("/sourceConfig") == ["/sourceConfig/", "/sourceConfig/"]  # at each load, from Rapport
    assert sorted(set(person.paths("/v1/"))) == ["/v1/identify", "/v1/page", "/v1/track"]
    preflights = {p for m, p, _q, _k in rapport.seen if m == "OPTIONS"}
    assert {"/sourceConfig/", "/v1/page", "/v1/identify", "/v1/track"} <= preflights  # Authorization, AnonymousId
    person.assert_all_went_well()


@pytest.mark.parametrize("version", RUDDER)
def test_rudderstack_beacon_delivers_at_page_hide(visitor, staff, rapport, version):
    """With `useBeacon` the SDK keeps events until the page is hidden or left, then hands them to
    `navigator.sendBeacon`, which can send no header: the write key is in the URL."""
    person = visitor()
    person.open(RUDDER[version], beacon="1")
    anonymous_id = _rudder_ready(person)
    person.tab.evaluate("window.rudderanalytics.page('Shop', 'Cart')")
    person.tab.evaluate("window.rudderanalytics.track('Checkout Left', {step: 2})")
    time.sleep(0.5)
    assert profile_of(staff, f"anonymous_id:{anonymous_id}") is None, "the beacon queue waits for the page to go"
    person.tab.goto(f"{person.site}/left.html")

    profile = wait_for_events(staff, f"anonymous_id:{anonymous_id}", 2)
    beacons = [(query, kind) for method, path, query, kind in rapport.seen if path == "/beacon/v1/batch"]
    assert [(query, kind.split(";")[0]) for query, kind in beacons] == [(f"writeKey={person.key}", "text/plain")]
    assert {e.get("event") for e in timeline(staff, profile)} == {None, "Checkout Left"}
    assert person.paths("/v1/") == []  # everything went by beacon
    person.assert_all_went_well()
