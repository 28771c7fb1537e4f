"""CORS and the browser libraries' routes, at the HTTP level (tests/clients/test_browser_libraries.py
drives the libraries themselves in Chromium).

The Tracking API is readable by any origin and answers preflights; nothing else is: the console,
the portal and the staff API must stay out of other origins' reach. A write key in a web page is
public, so the routes that take it in the URL are only those a browser library needs that way.
"""

from __future__ import annotations

import base64

import orjson
import pytest
from fastapi.testclient import TestClient

from factories import basic_auth, count_rows, profile_by
from rapport.app import create_app
from rapport.collect import api as collect_api
from rapport.collect.store import events

ORIGIN = "https://shop.example"
TRACKING = [
    "/v1/batch",
    "/v1/t",
    "/v1/track",
    "/v1/identify",
    "/v1/p",
    "/v1/projects/KEY/settings",
    "/sourceConfig/",
    "/sourceConfig",
    "/beacon/v1/batch",
]
NOT_TRACKING = [
    "/console/sign-in",
    "/console/sources",
    "/portal/sign-in",
    "/portal",
    "/api/v1/profiles",
    "/api/v1/tokens",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/healthz",
    "/u/some-token",
    "/",
    "/v1",  # not under /v1/
    "/sourceConfigX",
    "/beacon/v2/batch",
]
RUDDERSTACK_ASKS = "authorization, content-type, anonymousid, sentat, rsa-retry-attempt, rsa-recovered"


def _preflight(client, path, method="POST", headers=RUDDERSTACK_ASKS):
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=asked)


def _cors_headers(res) -> dict[str, str]:
    return {k: v for k, v in res.headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("path", TRACKING)
def test_the_tracking_api_answers_preflights(client, path):
    res = _preflight(client, path)
    assert res.status_code == 204, res.text
    assert res.content == b""
    assert res.headers["access-control-allow-origin"] == "*"
    assert {"GET", "POST"} <= {m.strip() for m in res.headers["access-control-allow-methods"].split(",")}
    assert res.headers["access-control-allow-headers"] == RUDDERSTACK_ASKS
    assert int(res.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in res.headers


@pytest.mark.parametrize("path", NOT_TRACKING)
def test_nothing_else_answers_a_preflight(client, path):
    for method in ("POST", "GET", "PUT"):
        res = _preflight(client, path, method=method, headers="authorization, content-type")
        assert _cors_headers(res) == {}, (path, method, res.status_code)
        assert res.status_code != 204, (path, method)
        assert _cors_headers(client.get(path, headers={"Origin": ORIGIN})) == {}, path


def test_a_signed_in_console_is_not_readable_from_another_origin(client, admin_token):
    client.post("/console/sign-in", data={"token": admin_token})
    res = client.get("/console/sources", headers={"Origin": ORIGIN})
    assert res.status_code == 200
    assert _cors_headers(res) == {}
    res = client.get("/api/v1/tokens", headers={"Origin": ORIGIN, "Authorization": f"Bearer {admin_token}"})
    assert res.status_code == 200
    assert _cors_headers(res) == {}


def test_only_header_names_are_reflected(client):
    res = _preflight(client, "/v1/batch", headers="X-One ,  x-one, bad name, evil\x7f, (paren), Content-Type,,")
    assert res.headers["access-control-allow-headers"] == "x-one, content-type"
    res = _preflight(client, "/v1/batch", headers=None)
    assert res.status_code == 204
    assert "access-control-allow-headers" not in res.headers
    many = ", ".join(f"x-h{i}" for i in range(500))
    assert len(_preflight(client, "/v1/batch", headers=many).headers["access-control-allow-headers"].split(",")) == 64


def test_an_options_request_that_is_no_preflight_goes_to_the_routes(client):
    res = client.options("/v1/batch", headers={"Origin": ORIGIN})
    assert res.status_code == 405
    assert res.headers["access-control-allow-origin"] == "*"


def _assert_readable(res):
    assert res.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in res.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in res.headers


def test_answers_are_readable_from_any_origin_errors_included(client, make_source):
    source = make_source("web", rate_limit_per_s=2)
    message = {"type": "track", "userId": "u1", "event": "Viewed"}
    ok = client.post("/v1/batch", json={"batch": [message]}, headers={**basic_auth(source), "Origin": ORIGIN})
    assert ok.status_code == 200
    _assert_readable(ok)
    limited = client.post("/v1/batch", json={"batch": [message] * 5}, headers={**basic_auth(source), "Origin": ORIGIN})
    assert limited.status_code == 429
    _assert_readable(limited)
    assert int(limited.headers["retry-after"]) >= 1
    unauthorized = client.post("/v1/track", json=message, headers={"Origin": ORIGIN})
    assert unauthorized.status_code == 401
    _assert_readable(unauthorized)
    bad = client.post("/v1/batch", content=b"{not json", headers={**basic_auth(source), "Origin": ORIGIN})
    assert bad.status_code == 400
    _assert_readable(bad)
    nul = client.post("/v1/batch?x=%00", json={"batch": []}, headers={**basic_auth(source), "Origin": ORIGIN})
    assert nul.status_code == 400  # TextGuard's answer, readable too
    _assert_readable(nul)
    _assert_readable(client.get(f"/v1/projects/{source.write_key}/settings", headers={"Origin": ORIGIN}))
    _assert_readable(client.get("/v1/nothing-here", headers={"Origin": ORIGIN}))


def test_no_tracking_route_reads_cookies(client, source, admin_token):
    """Browsers send Rapport's own cookies with a beacon (and with any request a page makes with
    credentials): a staff member's session must neither authenticate nor change what is recorded."""
    for route in collect_api.router.routes:
        assert not route.dependant.cookie_params, route.path  # type: ignore[attr-defined]
    client.post("/console/sign-in", data={"token": admin_token})
    assert client.cookies, "signed in to the console"
    message = {"type": "track", "userId": "u1", "event": "Viewed"}
    for path in ("/v1/batch", "/beacon/v1/batch"):
        res = client.post(path, json={"batch": [message]})
        assert res.status_code == 401, path
        assert res.json()["code"] == "missing_write_key"
    assert client.get("/sourceConfig/").status_code == 401


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/b", "/v1/import"])
def test_a_write_key_in_the_query_string_is_no_key_for_the_segment_routes(client, source, db, path):
    res = client.post(f"{path}?writeKey={source.write_key}", json={"batch": [{"type": "track", "userId": "u"}]})
    assert res.status_code == 401
    assert res.json()["code"] == "missing_write_key"
    res = client.post(f"/v1/track?writeKey={source.write_key}", json={"userId": "u", "event": "A"})
    assert res.status_code == 401
    assert count_rows(db, events) == 0


def test_the_beacon_route_takes_the_key_in_the_query_string(client, source, admin_headers):
    body = orjson.dumps(
        {
            "batch": [
                {"type": "track", "event": "Checkout Left", "anonymousId": "beacon-anon", "messageId": "b-1"},
                {"type": "page", "name": "Cart", "anonymousId": "beacon-anon", "messageId": "b-2"},
            ],
            "sentAt": "2026-03-01T12:00:00.000Z",
        }
    )
    headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN}
    res = client.post(f"/beacon/v1/batch?writeKey={source.write_key}", content=body, headers=headers)
    assert res.status_code == 200, res.text
    assert res.json()["accepted"] == 2
    _assert_readable(res)
    assert profile_by(client, admin_headers, "anonymous_id:beacon-anon")["event_count"] == 2
    assert client.post("/beacon/v1/batch", content=body, headers=headers).status_code == 401
    unknown = client.post("/beacon/v1/batch?writeKey=nope", content=body, headers=headers)
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "invalid_write_key"


def _public_client(settings, db, public_url):
    return TestClient(create_app(settings.model_copy(update={"public_url": public_url}), db))


def test_segment_settings_name_the_public_url_and_never_the_host_header(settings, db, source):
    with _public_client(settings, db, "https://collect.example.com/rapport/") as client:
        for host in (None, "evil.example", "evil.example:8443"):
            headers = {"Host": host} if host else {}
            res = client.get(f"/v1/projects/{source.write_key}/settings", headers=headers)
            assert res.status_code == 200
            segment = res.json()["integrations"]["Segment.io"]
            assert segment == {
                "apiKey": source.write_key,
                "apiHost": "collect.example.com/rapport/v1",
                "protocol": "https",
            }
    with _public_client(settings, db, "http://127.0.0.1:8123") as client:
        res = client.get(f"/v1/projects/{source.write_key}/settings", headers={"X-Forwarded-Host": "evil.example"})
        assert res.json()["integrations"]["Segment.io"]["apiHost"] == "127.0.0.1:8123/v1"
        assert res.json()["integrations"]["Segment.io"]["protocol"] == "http"
        assert res.json()["metrics"] == {"sampleRate": 0}  # analytics-next would send its own metrics to Segment


def _is_valid_source_config(res) -> bool:
    """What RudderStack v3 checks (`isValidSourceConfig`), and v2 reads, before it sends anything."""
    source = res.get("source")
    return (
        isinstance(source, dict)
        and source.get("id") is not None
        and isinstance(source.get("config"), dict)
        and isinstance(source.get("destinations"), list)
    )


def test_rudderstack_source_config(client, source, make_source):
    by_query = client.get("/sourceConfig/", params={"p": "npm", "v": "3.34.1", "writeKey": source.write_key})
    assert by_query.status_code == 200, by_query.text
    config = by_query.json()
    assert _is_valid_source_config(config)
    assert config["source"]["enabled"] is True
    assert config["source"]["destinations"] == []
    reports = config["source"]["config"]["statsCollection"]
    assert reports == {"errors": {"enabled": False}, "metrics": {"enabled": False}}
    assert "dataplanes" not in config["source"]  # v2 would prefer it to the page's own dataPlaneUrl
    assert str(source.id) != config["source"]["id"] and source.write_key not in config["source"]["id"]
    by_basic = client.get("/sourceConfig", headers=basic_auth(source))
    assert by_basic.json() == config
    assert client.get("/sourceConfig/", params={"writeKey": make_source("web").write_key}).json() != config
    assert client.head("/sourceConfig/?view=ad", headers=basic_auth(source)).status_code == 200  # ad-block probe
    assert client.get("/sourceConfig/").json()["code"] == "missing_write_key"
    assert client.get("/sourceConfig/", params={"writeKey": "nope"}).status_code == 401
    broken = {"Authorization": "Basic " + base64.b64encode(b"nope:").decode()}
    assert client.get("/sourceConfig/", params={"writeKey": source.write_key}, headers=broken).status_code == 401
