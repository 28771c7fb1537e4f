"""The `rapport` command: settings errors, migrations, admin commands, file import."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from factories import says
from rapport.cli import app as cli
from rapport.collect.store import dead_letters, events
from rapport.kernel.audit import audit_log

runner = CliRunner()


def invoke(monkeypatch, url, *args):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    return runner.invoke(cli, list(args))


def test_bad_setting_is_named_and_exits_2(monkeypatch, database_url):
    monkeypatch.setenv("RAPPORT_DEFAULT_PHONE_REGION", "XX")
    result = invoke(monkeypatch, database_url, "migrate")
    assert result.exit_code == 2
    assert says(result.output, "RAPPORT_DEFAULT_PHONE_REGION"), result.output
    monkeypatch.delenv("RAPPORT_DEFAULT_PHONE_REGION")
    result = invoke(monkeypatch, "mysql://x", "migrate")
    assert result.exit_code == 2 and says(result.output, "RAPPORT_DATABASE_URL"), result.output


def test_serve_refuses_an_old_schema_without_migrate(monkeypatch, tmp_path):
    result = invoke(monkeypatch, f"sqlite:///{tmp_path / 'empty.db'}", "serve", "--no-migrate")
    assert result.exit_code == 2
    assert says(result.output, "rapport migrate"), result.output


def test_serve_workers_needs_postgresql_and_a_processor_of_its_own(monkeypatch, tmp_path):
    result = invoke(monkeypatch, f"sqlite:///{tmp_path / 'one.db'}", "serve", "--workers", "2")
    assert result.exit_code == 2
    assert "--workers needs PostgreSQL: SQLite has one writer" in " ".join(result.output.split())
    assert not (tmp_path / "one.db").exists(), "refused before the database was created"
    monkeypatch.setenv("RAPPORT_PROCESSOR", "thread")  # nothing listens there: refused before connecting
    result = invoke(monkeypatch, "postgresql+psycopg://rapport@127.0.0.1:1/none", "serve", "--workers", "2")
    assert result.exit_code == 2
    assert "would run a processor in every worker" in " ".join(result.output.split())


def test_admin_commands_print_key_and_token_last(monkeypatch, database_url):
    result = invoke(monkeypatch, database_url, "admin", "create-source", "pos", "--channel", "store")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert len(key) >= 24
    assert key in invoke(monkeypatch, database_url, "admin", "list-sources").output
    token = (
        invoke(monkeypatch, database_url, "admin", "create-token", "--role", "agent").output.strip().splitlines()[-1]
    )
    assert token.startswith("rpt_")
    bad = invoke(monkeypatch, database_url, "admin", "create-source", "x", "--channel", "fax")
    assert bad.exit_code == 2 and says(bad.output, "channel must be one of"), bad.output
    dup = invoke(monkeypatch, database_url, "admin", "create-source", "pos", "--channel", "store")
    assert dup.exit_code == 2 and says(dup.output, "already exists"), dup.output
    assert invoke(monkeypatch, database_url, "admin", "create-token", "--role", "root").exit_code == 2
    # Past what the columns hold: PostgreSQL refused them with a traceback.
    long = invoke(monkeypatch, database_url, "admin", "create-source", "x" * 201, "--channel", "web")
    assert long.exit_code == 2 and says(long.output, "at most 200 characters"), long.output
    long = invoke(monkeypatch, database_url, "admin", "create-token", "--role", "agent", "--name", "x" * 201)
    assert long.exit_code == 2 and says(long.output, "at most 200 characters"), long.output
    for command in ("rotate-write-key", "disable-source"):
        assert invoke(monkeypatch, database_url, "admin", command, "x" * 201).exit_code == 2
    assert invoke(monkeypatch, database_url, "admin", "revoke-token", str(2**31)).exit_code == 2


def test_import_reports_rejects_and_is_idempotent(monkeypatch, database_url, tmp_path, db):
    invoke(monkeypatch, database_url, "admin", "create-source", "calls", "--channel", "call_center")
    path = tmp_path / "calls.csv"
    path.write_text(
        "call_id,phone,minutes,when\n"
        "c1,+14155550100,3,2026-01-01T10:00:00Z\n"
        "c2,+14155550101,abc,2026-01-01T11:00:00Z\n"
        ",+14155550102,4,2026-01-01T12:00:00Z\n"
        "c4,+14155550103,5,last tuesday\n"
    )
    args = [
        "import",
        str(path),
        "--source",
        "calls",
        "--type",
        "track",
        "--event",
        "Call",
        "--map",
        "anonymousId=call_id",
        "--map",
        "context.traits.phone=phone",
        "--map",
        "properties.minutes=minutes:number",
        "--map",
        "timestamp=when",
    ]
    result = invoke(monkeypatch, database_url, *args)
    assert result.exit_code == 0, result.output
    assert says(result.output, "rows: 4  accepted: 1  duplicates: 0  rejected: 3"), result.output
    assert says(result.output, "invalid_row", "missing_id", "invalid_timestamp"), result.output
    again = invoke(monkeypatch, database_url, *args)
    assert says(again.output, "accepted: 0  duplicates: 1  rejected: 3"), again.output
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(dead_letters)).scalar() == 6


def test_import_jsonl_and_bad_arguments(monkeypatch, database_url, tmp_path):
    invoke(monkeypatch, database_url, "admin", "create-source", "shop", "--channel", "store")
    path = tmp_path / "orders.jsonl"
    path.write_text('{"type": "track", "userId": "u1", "event": "Order Completed"}\n{oops\n[1]\n\n')
    result = invoke(monkeypatch, database_url, "import", str(path), "--source", "shop")
    assert says(result.output, "rows: 3  accepted: 1  duplicates: 0  rejected: 2"), result.output
    assert invoke(monkeypatch, database_url, "import", str(path), "--source", "nope").exit_code == 2
    bad_map = invoke(monkeypatch, database_url, "import", str(path), "--source", "shop", "--map", "userId")
    assert bad_map.exit_code == 2 and says(bad_map.output, "target=column"), bad_map.output
    bad_type = invoke(monkeypatch, database_url, "import", str(path), "--source", "shop", "--map", "a=b:float128")
    assert bad_type.exit_code == 2
    missing = invoke(monkeypatch, database_url, "import", str(tmp_path / "absent.csv"), "--source", "shop")
    assert missing.exit_code == 2
    mapping = tmp_path / "m.json"
    mapping.write_text("not json")
    assert (
        invoke(monkeypatch, database_url, "import", str(path), "--source", "shop", "--mapping", str(mapping)).exit_code
        == 2
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RAPPORT_INGEST_MAX_LAG_S", "-1"),
        ("RAPPORT_INGEST_HOLD_S", "0"),
        ("RAPPORT_SQLITE_CACHE_MIB", "1"),
        ("RAPPORT_HTTP_MAX_HEADER_BYTES", "100"),
        ("RAPPORT_HTTP_HEADER_TIMEOUT_S", "0"),
        ("RAPPORT_HTTP_MAX_CONNECTIONS", "0"),
    ],
)
def test_out_of_range_tuning_settings_are_named_and_exit_2(monkeypatch, database_url, variable, value):
    monkeypatch.setenv(variable, value)
    result = invoke(monkeypatch, database_url, "migrate")
    assert result.exit_code == 2
    assert says(result.output, variable), result.output


def test_a_leaked_write_key_is_rotated_and_a_source_disabled(monkeypatch, database_url, client, db):
    client.app.state.sources.ttl_s = 0  # a running server remembers a key for up to 5 s; here: not at all
    invoke(monkeypatch, database_url, "admin", "create-source", "pos", "--channel", "store")
    old = invoke(monkeypatch, database_url, "admin", "list-sources").output.split()[3]
    rotated = invoke(monkeypatch, database_url, "admin", "rotate-write-key", "pos")
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.strip().splitlines()[-1]
    assert new != old and len(new) >= 24
    batch = {"batch": [{"type": "track", "userId": "u", "event": "Sale"}]}
    assert client.post("/v1/batch", json=batch, headers={"X-Write-Key": old}).status_code == 401
    assert client.post("/v1/batch", json=batch, headers={"X-Write-Key": new}).status_code == 200

    assert invoke(monkeypatch, database_url, "admin", "disable-source", "pos").exit_code == 0
    assert client.post("/v1/batch", json={**batch, "writeKey": new}).status_code == 401
    assert "pos" not in invoke(monkeypatch, database_url, "admin", "list-sources").output
    for command in ("rotate-write-key", "disable-source"):
        gone = invoke(monkeypatch, database_url, "admin", command, "pos")
        assert gone.exit_code == 2 and says(gone.output, "no enabled source is named 'pos'"), gone.output
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 1, "what it sent stays"
        actions = conn.execute(sa.select(audit_log.c.action, audit_log.c.actor).order_by(audit_log.c.id)).all()
    assert [a for a, _ in actions] == ["source.created", "source.key_rotated", "source.disabled"]
    assert all(actor.startswith("cli:") for _, actor in actions)


def test_a_revoked_token_stops_working_at_once(monkeypatch, database_url, client, db):
    created = invoke(monkeypatch, database_url, "admin", "create-token", "--role", "agent", "--name", "kiosk")
    token = created.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/profiles", params={"identifier": "user_id:x"}, headers=headers).status_code == 200
    listed = invoke(monkeypatch, database_url, "admin", "list-tokens").output
    [line] = [row for row in listed.splitlines() if "\tkiosk\t" in row]
    token_id = line.split("\t")[0]
    assert line.endswith("active") and token not in listed

    revoked = invoke(monkeypatch, database_url, "admin", "revoke-token", token_id)
    assert revoked.exit_code == 0 and says(revoked.output, "kiosk"), revoked.output
    res = client.get("/api/v1/profiles", params={"identifier": "user_id:x"}, headers=headers)
    assert res.status_code == 401
    assert "revoked" in invoke(monkeypatch, database_url, "admin", "list-tokens").output.splitlines()[-1]
    again = invoke(monkeypatch, database_url, "admin", "revoke-token", token_id)
    assert again.exit_code == 2 and says(again.output, "was revoked at"), again.output
    assert invoke(monkeypatch, database_url, "admin", "revoke-token", "99999").exit_code == 2
    with db.read() as conn:
        [row] = conn.execute(sa.select(audit_log).where(audit_log.c.action == "token.revoked")).all()
        created = conn.execute(sa.select(audit_log).where(audit_log.c.action == "token.created")).all()
    assert row.details["token_id"] == int(token_id) and row.actor.startswith("cli:")
    [made] = [r for r in created if r.details["name"] == "kiosk"]
    assert made.details == {"token_id": int(token_id), "name": "kiosk", "role": "agent"}
    assert made.actor.startswith("cli:")


def test_import_reads_the_named_encoding_and_refuses_a_file_it_cannot_read(monkeypatch, database_url, tmp_path, db):
    invoke(monkeypatch, database_url, "admin", "create-source", "till", "--channel", "store")
    path = tmp_path / "till.csv"
    path.write_bytes("email,total\nzoé@example.com,3\n".encode("cp1252"))  # as many POS exports are written
    args = ["import", str(path), "--source", "till", "--type", "track", "--event", "Sale", "--map", "userId=email"]
    refused = invoke(monkeypatch, database_url, *args)
    assert refused.exit_code == 2
    assert says(refused.output, "not utf-8: byte 0xe9 on line 2", "--encoding"), refused.output
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 0
    assert invoke(monkeypatch, database_url, *args, "--encoding", "klingon").exit_code == 2
    result = invoke(monkeypatch, database_url, *args, "--encoding", "cp1252")
    assert result.exit_code == 0 and says(result.output, "accepted: 1"), result.output
    with db.read() as conn:
        assert conn.execute(sa.select(events.c.user_id)).scalars().all() == ["zoé@example.com"]


def test_import_reads_json_lines_as_the_api_reads_bodies(monkeypatch, database_url, tmp_path, db):
    invoke(monkeypatch, database_url, "admin", "create-source", "app", "--channel", "mobile")
    path = tmp_path / "export.jsonl"
    path.write_text(
        '{"type": "track", "userId": "u1", "event": "Cut", "properties": {"s": "caf\\ud83d"}}\n'
        '{"type": "track", "userId": "u1", "event": "Deep", "properties": ' + '{"x": ' * 300 + "1" + "}" * 300 + "}\n"
    )
    result = invoke(monkeypatch, database_url, "import", str(path), "--source", "app")
    assert result.exit_code == 0, result.output
    assert says(result.output, "accepted: 1", "rejected 1 x too_deep"), result.output
    with db.read() as conn:
        assert conn.execute(sa.select(events.c.payload)).scalar_one()["properties"] == {"s": "caf\ufffd"}
        assert conn.execute(sa.select(dead_letters.c.code)).scalars().all() == ["too_deep"]


def test_a_csv_row_the_csv_module_cannot_read_is_rejected_and_the_rest_imported(monkeypatch, database_url, tmp_path):
    invoke(monkeypatch, database_url, "admin", "create-source", "crm", "--channel", "other")
    path = tmp_path / "notes.csv"
    path.write_text("email,note\na@example.com," + "x" * 200_000 + "\nb@example.com,ok\nc@example.com,fine\n")
    args = ["import", str(path), "--source", "crm", "--type", "track", "--event", "Noted", "--map", "userId=email"]
    result = invoke(monkeypatch, database_url, *args)  # a field over the csv module's 128 KiB crashed the import
    assert result.exit_code == 0, result.output
    assert says(
        result.output,
        "rows: 3  accepted: 2  duplicates: 0  rejected: 1",
        "row 2: invalid_row: not a readable CSV row: field larger than field limit",
    ), result.output
