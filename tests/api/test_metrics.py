"""GET /metrics: what collection took and refused, and how far the profiles are behind."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from factories import profile_by, send_batch


def scrape(client, headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    res = client.get("/metrics", headers=headers)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(res.text)
        for s in family.samples
    }


def test_metrics_count_what_collection_took_and_show_the_lag(client, source, admin_headers, make_token):
    analyst = {"Authorization": f"Bearer {make_token('analyst')}"}
    before = scrape(client, analyst)
    assert before[("rapport_log_offset", ())] == 0 and before[("rapport_dead_letters", ())] == 0
    assert ("process_resident_memory_bytes", ()) in before

    batch = [
        {"type": "track", "userId": "m-1", "event": "A", "messageId": "x-1"},
        {"type": "track", "userId": "m-1", "event": "B", "messageId": "x-2"},
        {"type": "track", "event": "no id"},
    ]
    send_batch(client, source, batch)
    send_batch(client, source, batch[:1])  # a retry
    assert client.post("/v1/batch", content=b"{", headers={"X-Write-Key": source.write_key}).status_code == 400
    profile_by(client, admin_headers, "user_id:m-1")  # waits until the processor has caught up

    after = scrape(client, analyst)
    counted = {
        o: after.get(("rapport_ingest_messages_total", (("outcome", o), ("source", source.name))))
        for o in ("stored", "duplicate", "rejected")
    }
    assert counted == {"stored": 2, "duplicate": 1, "rejected": 2}
    assert after[("rapport_log_offset", ())] == after[("rapport_processor_offset", ())] > 0
    assert after[("rapport_processor_lag_events", ())] == 0 and after[("rapport_processor_lag_seconds", ())] == 0
    assert after[("rapport_dead_letters", ())] == 2 and after[("rapport_unprocessable_events", ())] == 0


def test_metrics_need_a_token_with_metrics_read(client, make_token):
    assert client.get("/metrics").status_code == 401
    res = client.get("/metrics", headers={"Authorization": f"Bearer {make_token('agent')}"})
    assert res.status_code == 403 and res.json()["code"] == "forbidden"


def test_lag_is_read_from_the_database_whoever_wrote_the_log(db, make_source):
    """No server and no processor here: an import, say, appended what the profiles do not hold yet."""
    from datetime import UTC, datetime, timedelta

    from rapport.collect.log import append_messages
    from rapport.collect.metrics import PipelineCollector
    from rapport.collect.model import Envelope, normalize_message
    from rapport.profiles.processor import CONSUMER

    web = make_source("web")
    received = datetime.now(UTC) - timedelta(seconds=30)
    raw = [{"type": "page", "anonymousId": f"a-{i}"} for i in range(3)]
    with db.write() as conn:
        append_messages(conn, web.id, [normalize_message(m, Envelope({}, {}, None, received)) for m in raw], [])
    gauges = {m.name: m.samples[0].value for m in PipelineCollector(db, [CONSUMER], CONSUMER).collect()}
    assert gauges["rapport_processor_lag_events"] == 3 and gauges["rapport_processor_offset"] == 0
    assert 29 <= gauges["rapport_processor_lag_seconds"] < 120
