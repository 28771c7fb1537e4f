"""`rapport assistant evaluate` and `rapport assistant train` on small files, and the lexical model
a deployment without the model stack runs (and says so on the console's assistant page)."""

from __future__ import annotations

import csv
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant_model import INTENTS, PER_INTENT, SHARED, publish_articles, require_shared_data, trained_dir
from rapport.app import create_app
from rapport.assistant import data, deploy, embed, intents
from rapport.cli import app as cli
from rapport.db.engine import open_database
from rapport.settings import load_settings

runner = CliRunner()


def invoke(monkeypatch, database_url, data_dir, *args):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(data_dir))
    return runner.invoke(cli, ["assistant", *args])


def unseen_questions(per_intent: int = 8) -> list[tuple[str, str]]:
    """Banking77 questions of the test model's intents that it was not trained on."""
    require_shared_data()
    seen: dict[str, int] = {}
    out = []
    for text, label in data.banking77(SHARED):
        if label in INTENTS:
            seen[label] = seen.get(label, 0) + 1
            if PER_INTENT < seen[label] <= PER_INTENT + per_intent:
                out.append((text, label))
    return out


def test_evaluate_the_deployed_model_on_a_csv(monkeypatch, database_url, tmp_path):
    path = tmp_path / "questions.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        writer.writerows(unseen_questions())
        writer.writerows([["what's the weather like in Lisbon", "oos"], ["play some jazz", "oos"]])
    result = invoke(monkeypatch, database_url, trained_dir(), "evaluate", "--data", str(path))
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["examples"] == 64 and line["oos_examples"] == 2 and line["trained"] == "deployed"
    assert line["accuracy"] >= 0.8 and line["macro_f1"] >= 0.75
    assert 0 <= line["in_scope_accuracy"] <= line["accuracy"] and 0 <= line["oos_recall"] <= 1


def first(rows: list[tuple[str, str]], chosen: list[str], take: int) -> list[list[str]]:
    """The first `take` examples of each chosen intent."""
    counts: dict[str, int] = {}
    out = []
    for text, label in rows:
        if label in chosen and counts.get(label, 0) < take:
            counts[label] = counts.get(label, 0) + 1
            out.append([text, label])
    return out


def clinc_subset(path, intents_: int = 5) -> None:
    """Five CLINC150 intents in its own layout: 40 train, 5 val and 5 test questions each, and its
    out-of-scope examples split 100 / 50 / 50."""
    require_shared_data()
    clinc = data.clinc150(SHARED)
    chosen = sorted({label for _, label in clinc.examples("train")})[:intents_]
    held = first(clinc.examples("val"), chosen, 10)
    oos = [[t, "oos"] for t in clinc.out_of_scope("train") + clinc.out_of_scope("val")]
    layout = {
        "train": first(clinc.examples("train"), chosen, 40),
        "val": held[1::2],
        "test": held[::2],
        "oos_train": oos[:100],
        "oos_val": oos[100:150],
        "oos_test": oos[150:],
    }
    path.write_text(json.dumps(layout))


def test_evaluate_with_train_trains_a_fresh_model_and_leaves_the_deployed_one(monkeypatch, database_url, tmp_path):
    path = tmp_path / "clinc_small.json"
    clinc_subset(path)
    empty = tmp_path / "data"
    result = invoke(
        monkeypatch, database_url, empty, "evaluate", "--data", str(path), "--train", str(path), "--lexical"
    )
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["split"] == "test" and line["trained"] == "fresh (--train)" and line["model"] == "lexical"
    assert line["examples"] == 25 and line["oos_examples"] == 50
    assert {"accuracy", "macro_f1", "in_scope_accuracy", "oos_recall"} <= set(line)
    assert line["accuracy"] >= 0.6
    assert not (empty / "assistant" / "intent-model.joblib").exists()  # nothing deployed


def test_evaluate_refuses_what_it_cannot_do(monkeypatch, database_url, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("text,category\nwhere is my card,card_arrival\n")
    nothing = invoke(monkeypatch, database_url, tmp_path / "none", "evaluate", "--data", str(path))
    assert nothing.exit_code == 2 and "no intent model is deployed" in nothing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("question\nwhere\n")
    result = invoke(monkeypatch, database_url, trained_dir(), "evaluate", "--data", str(bad))
    assert result.exit_code == 2 and "text and category" in result.output
    same = invoke(monkeypatch, database_url, tmp_path / "x", "evaluate", "--data", str(path), "--train", str(path))
    assert same.exit_code == 2 and "no val or test split" in same.output


@pytest.fixture
def tiny_shared(tmp_path):
    """A ../shared/data of three Banking77 intents and CLINC150's out-of-scope examples."""
    require_shared_data()
    root = tmp_path / "shared"
    (root / "banking77").mkdir(parents=True)
    (root / "clinc150").mkdir()
    rows = [
        (t, label) for t, label in data.banking77(SHARED) if label in ("card_arrival", "change_pin", "exchange_rate")
    ]
    with (root / "banking77" / "train.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("text", "category"), *rows[:90]])
    clinc = data.clinc150(SHARED)
    layout = {
        "oos_train": [[t, "oos"] for t in clinc.out_of_scope("train")],
        "oos_val": [[t, "oos"] for t in clinc.out_of_scope("val")],
    }
    (root / "clinc150" / "data_train_val.json").write_text(json.dumps(layout))
    return root


def test_train_without_the_model_stack_deploys_the_lexical_model_and_the_console_says_so(
    monkeypatch, database_url, tmp_path, tiny_shared, admin_token
):
    monkeypatch.setattr(embed, "minilm_available", lambda: False)
    monkeypatch.setattr(intents, "minilm_available", lambda: False)
    monkeypatch.setattr("rapport.assistant.cli.minilm_available", lambda: False)
    monkeypatch.setattr("rapport.assistant.console.minilm_available", lambda: False)
    settings = load_settings(database_url=database_url, processor="off", data_dir=tmp_path / "data")
    db = open_database(settings)
    publish_articles(db, ("card_arrival", "top_up_failed"))
    result = invoke(monkeypatch, database_url, tmp_path / "data", "train", "--shared", str(tiny_shared))
    assert result.exit_code == 0, result.output
    model = deploy.deployed(settings)
    assert model is not None and model.kind == "lexical"
    assert "top_up_failed" in model.intents  # an article's known questions are an intent of their own
    assert model.predict("I still have not received my new card").intent == "card_arrival"
    with TestClient(create_app(settings, db)) as client:
        client.post("/console/sign-in", data={"token": admin_token})
        page = client.get("/console/assistant")
        assert page.status_code == 200
        assert "Lexical: TF-IDF with logistic regression" in page.text
        assert "is not installed here, so the lexical model runs" in page.text
    db.dispose()


def test_a_minilm_model_is_not_served_where_the_model_stack_is_missing(monkeypatch, tmp_path):
    settings = load_settings(data_dir=trained_dir())
    monkeypatch.setattr(embed, "minilm_available", lambda: False)
    fresh = tmp_path / "copy"
    (fresh / "assistant").mkdir(parents=True)
    (fresh / "assistant" / "intent-model.joblib").write_bytes(
        (settings.data_dir / "assistant" / "intent-model.joblib").read_bytes()
    )
    assert deploy.deployed(load_settings(data_dir=fresh)) is None  # every chat goes to a person, and the page says why
