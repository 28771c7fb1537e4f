"""`rapport catalog import` and `rapport decide train` as an operator runs them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from factories import says
from rapport.cli import app as cli
from rapport.db.engine import open_database
from rapport.decide.store import load_items
from rapport.settings import load_settings

runner = CliRunner()


def invoke(monkeypatch, url, *args):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    return runner.invoke(cli, list(args))


def items_in(url):
    db = open_database(load_settings(database_url=url))
    try:
        with db.read() as conn:
            return load_items(conn)
    finally:
        db.dispose()


def test_catalog_import_reports_each_bad_row_and_keeps_the_good(monkeypatch, database_url, tmp_path):
    csv_file = tmp_path / "items.csv"
    csv_file.write_text(
        "id,name,category,kind,price,available,help\n"
        "k1,Kettle,Kitchen,durable,30,yes,Descale it|https://help.example/descale\n"
        "m1,Milk,Dairy,consumable,1.2,,\n"
        ",No id,,,,,\n"
        "x1,Gadget,,gizmo,,,\n"
    )
    result = invoke(monkeypatch, database_url, "catalog", "import", str(csv_file))
    assert result.exit_code == 1, result.output
    assert says(result.output, "rows: 4", "imported: 2", "rejected: 2", "row 4: no id", "row 5: item x1: kind must be")
    items = items_in(database_url)
    assert (items["k1"].kind, items["k1"].help[0].url, items["m1"].kind) == (
        "durable",
        "https://help.example/descale",
        "consumable",
    )

    jsonl = tmp_path / "items.jsonl"
    rows = [
        {"product_id": "k1", "name": "Kettle 2", "available": False, "help": [{"title": "Set up", "url": "/help/k1"}]}
    ]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    result = invoke(monkeypatch, database_url, "catalog", "import", str(jsonl))
    assert result.exit_code == 1 and says(result.output, "imported: 1", "rejected: 1", "not valid JSON")
    assert (items_in(database_url)["k1"].name, items_in(database_url)["k1"].available) == ("Kettle 2", False)


def test_a_file_in_another_encoding_is_refused_whole(monkeypatch, database_url, tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes("id,name\nc1,Caf\u00e9\n".encode("cp1252"))
    result = invoke(monkeypatch, database_url, "catalog", "import", str(path))
    assert result.exit_code == 2 and says(result.output, "Nothing imported")


def test_train_with_nothing_to_learn_from_says_so(monkeypatch, database_url):
    result = invoke(monkeypatch, database_url, "decide", "train")
    assert result.exit_code == 1 and says(result.output, "Nothing to train on")
