"""`rapport import-mentions`: social mentions from CSV or JSON Lines, each row taken or refused on
its own with its row number and reason; a row imported twice adds nothing."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from rapport.cli import app as cli
from rapport.service.influence import case_influence
from rapport.service.social_store import social_mentions
from rapport.service.store import cases

runner = CliRunner()

CSV = """network,handle,text,url,followers,posted_at,needs_service
x,@ann,Where is my parcel?,https://x.com/ann/1,120,2026-12-01T09:00:00Z,
x,@ben,Lovely lamps,https://x.com/ben/1,,2026-12-01T09:05:00+01:00,
myspace,@cat,Broken!,,,2026-12-01T09:00:00Z,
x,@dan,Broken lamp,,many,2026-12-01T09:00:00Z,
x,@eve,ok,,,not a date,
instagram,eve.shop,Great,,5,2026-12-01T09:00:00Z,yes
"""


def test_a_csv_import_takes_good_rows_and_names_each_refusal(monkeypatch, database_url, db, tmp_path):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    path = tmp_path / "mentions.csv"
    path.write_text(CSV, encoding="utf-8")
    result = runner.invoke(cli, ["import-mentions", str(path)])
    assert result.exit_code == 1, result.output
    assert "3 mention(s) taken, 2 case(s) opened or continued, 3 refused" in result.stdout
    assert "row 4: invalid_network" in result.stderr
    assert "row 5: invalid_followers" in result.stderr
    assert "row 6: invalid_posted_at" in result.stderr
    with db.read() as conn:
        rows = conn.execute(sa.select(social_mentions).order_by(social_mentions.c.id)).all()
        assert [(r.handle, r.case_id is not None) for r in rows] == [("ann", True), ("ben", False), ("eve.shop", True)]
        assert conn.execute(sa.select(cases.c.channel)).scalars().all() == ["social", "social"]
        assert sorted(conn.execute(sa.select(case_influence.c.followers)).scalars()) == [5, 120]
    again = runner.invoke(cli, ["import-mentions", str(path)])  # the same file again: nothing new
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(social_mentions)).scalar() == 4  # ben: no url
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == 2
    assert again.exit_code == 1


def test_a_json_lines_import_and_unreadable_files(monkeypatch, database_url, db, tmp_path):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    good = {"network": "x", "handle": "zoe", "text": "My refund?", "posted_at": "2026-12-01T09:00:00Z", "followers": 9}
    lines = [json.dumps(good), "{not json", json.dumps([1, 2]), "", json.dumps({**good, "needs_service": "maybe"})]
    path = tmp_path / "mentions.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = runner.invoke(cli, ["import-mentions", str(path)])
    assert result.exit_code == 1 and "1 mention(s) taken, 1 case(s)" in result.stdout
    assert "row 2:" in result.stderr and "row 3: invalid_row" in result.stderr
    assert "row 5: invalid_needs_service" in result.stderr
    clean = tmp_path / "clean.ndjson"
    clean.write_text(json.dumps({**good, "handle": "amy"}) + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["import-mentions", str(clean)]).exit_code == 0
    odd = tmp_path / "mentions.txt"
    odd.write_text("x", encoding="utf-8")
    assert runner.invoke(cli, ["import-mentions", str(odd)]).exit_code == 2
    binary = tmp_path / "bad.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert runner.invoke(cli, ["import-mentions", str(binary)]).exit_code == 2
