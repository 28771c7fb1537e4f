"""The official Segment and RudderStack Python libraries, unchanged, against a live server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from conftest import require

try:
    from segment.analytics import Client as SegmentClient
except ImportError:  # pragma: no cover - reported by require() below
    SegmentClient = None
try:
    from rudderstack.analytics import Client as RudderClient
except ImportError:  # pragma: no cover
    RudderClient = None


def _profile(live_server, headers, identifier):
    res = httpx.get(
        f"{live_server.url}/api/v1/profiles",
        params={"identifier": identifier, "consistent": "true"},
        headers=headers,
        timeout=10,
    )
    assert res.status_code == 200, res.text
    items = res.json()["items"]
    return items[0] if items else None


def _send_story(client, prefix: str) -> None:
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    client.page(anonymous_id=f"{prefix}-anon", name="Pricing", properties={"path": "/pricing"}, timestamp=when)
    client.identify(
        user_id=f"{prefix}-user",
        anonymous_id=f"{prefix}-anon",
        traits={"email": f"{prefix}@example.com", "name": "Sam"},
        timestamp=when,
    )
    for n in range(3):
        client.track(
            user_id=f"{prefix}-user",
            event="Order Completed",
            properties={"revenue": 10 + n},
            message_id=f"{prefix}-order-{n}",
            timestamp=when,
        )
    client.flush()


@pytest.fixture
def errors():
    return []


def test_segment_library_lands_events_on_the_right_profile(live_server, source, admin_headers, errors):
    require(SegmentClient is not None, "segment-analytics-python is not installed")
    client = SegmentClient(
        write_key=source.write_key, host=live_server.url, on_error=lambda e, b: errors.append(e), sync_mode=True
    )
    _send_story(client, "seg")
    assert errors == []
    profile = _profile(live_server, admin_headers, "email:seg@example.com")
    assert profile["event_count"] == 5
    assert {"user_id:seg-user", "anonymous_id:seg-anon"} <= {
        f"{i['type']}:{i['value']}" for i in profile["identifiers"]
    }
    assert profile["traits"]["name"] == "Sam"

    _send_story(client, "seg")  # a client retry of the very same messages (same messageIds for orders)
    again = _profile(live_server, admin_headers, "email:seg@example.com")
    assert again["event_count"] == 5 + 2  # page and identify got fresh messageIds from the library; orders did not


def test_segment_library_in_async_mode_with_gzip(live_server, source, admin_headers, errors):
    require(SegmentClient is not None, "segment-analytics-python is not installed")
    client = SegmentClient(
        write_key=source.write_key,
        host=live_server.url,
        gzip=True,
        upload_size=50,
        on_error=lambda e, b: errors.append(e),
    )
    for i in range(120):
        client.track(user_id=f"bulk-{i % 10}", event="Viewed", message_id=f"bulk-{i}")
    client.flush()
    client.join()
    assert errors == []
    assert _profile(live_server, admin_headers, "user_id:bulk-3")["event_count"] == 12


def test_a_string_cut_inside_an_emoji_costs_no_event_of_its_batch(live_server, source, admin_headers, errors):
    """The library writes a lone surrogate as its JSON escape; read as U+FFFD, as Segment's API does.
    It used to make the whole batch a 400, which the library drops without retrying."""
    require(SegmentClient is not None, "segment-analytics-python is not installed")
    client = SegmentClient(write_key=source.write_key, host=live_server.url, on_error=lambda e, b: errors.append(e))
    cut = "I \u2764\ufe0f caf\u00e9 \U0001f600"[:-1] + "\ud83d"  # as a client truncating UTF-16 leaves it
    client.track(user_id="cut-1", event="Reviewed", properties={"text": cut}, message_id="cut-a")
    client.track(user_id="cut-1", event="Reviewed", properties={"text": "fine"}, message_id="cut-b")
    client.flush()
    client.join()
    assert errors == []
    profile = _profile(live_server, admin_headers, "user_id:cut-1")
    assert profile["event_count"] == 2
    res = httpx.get(f"{live_server.url}/api/v1/profiles/{profile['id']}/timeline", headers=admin_headers, timeout=10)
    texts = sorted(e["payload"]["properties"]["text"] for e in res.json()["items"])
    assert texts == ["I \u2764\ufe0f caf\u00e9 \ufffd", "fine"]


def test_rudderstack_library_with_default_gzip(live_server, source, admin_headers, errors):
    require(RudderClient is not None, "rudder-sdk-python is not installed")
    client = RudderClient(
        write_key=source.write_key, host=live_server.url, on_error=lambda e, b: errors.append(e), sync_mode=True
    )
    assert client.gzip is True
    _send_story(client, "rud")
    assert errors == []
    profile = _profile(live_server, admin_headers, "email:rud@example.com")
    assert profile["event_count"] == 5
    _send_story(client, "rud")
    assert _profile(live_server, admin_headers, "user_id:rud-user")["event_count"] == 7


def test_sdk_sees_errors_it_will_not_retry(live_server):
    require(SegmentClient is not None, "segment-analytics-python is not installed")
    from segment.analytics.request import APIError

    client = SegmentClient(write_key="wrong-key", host=live_server.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as raised:  # sync mode raises rather than calling on_error
        client.track(user_id="x", event="Y")
    assert (raised.value.status, raised.value.code) == (401, "invalid_write_key")
