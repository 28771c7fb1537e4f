"""`rapport voice evaluate --data FILE` and `rapport texts topics`, as an operator runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rapport.cli import app as cli

runner = CliRunner()

ROWS = [
    ("I love this shop, the staff are wonderful", "positive"),
    ("Great service, thank you!", "positive"),
    ("Terrible, my order never arrived and nobody helps", "negative"),
    ("The worst support I have ever had", "negative"),
    ("The store opens at nine on Saturdays", "neutral"),
    ("I ordered a blue shirt on Monday", "neutral"),
]


@pytest.fixture(autouse=True)
def _model(minilm: object) -> None:
    """The session's one encoder."""


def invoke(monkeypatch, url, *args):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    return runner.invoke(cli, list(args))


def test_evaluate_prints_accuracy_and_macro_f1_as_one_json_line(monkeypatch, database_url, tmp_path):
    data = tmp_path / "labelled.csv"
    lines = ["text,sentiment"] + [f'"{t}",{s}' for t, s in ROWS] + ['"Meh, it was fine I suppose",positive']
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke(monkeypatch, database_url, "voice", "evaluate", "--data", str(data))
    assert result.exit_code == 0, result.output
    [line] = result.stdout.strip().splitlines()
    report = json.loads(line)
    assert report["rows"] == 7 and report["model"] == "minilm+lexicon"
    assert report["accuracy"] >= round(6 / 7, 4) and 0 < report["macro_f1"] <= 1  # the six clear ones right
    assert set(report["f1"]) == {"negative", "neutral", "positive"}


@pytest.mark.parametrize(
    "content",
    [
        "words,label\nhello,positive\n",  # wrong columns
        "text,sentiment\nhello,happy\n",  # a label that is not one of the three
        "text,sentiment\n",  # no rows
        b"\xff\xfe\x00t\x00e",  # not UTF-8
    ],
)
def test_evaluate_refuses_a_bad_file_with_exit_2(monkeypatch, database_url, tmp_path, content):
    data = tmp_path / "bad.csv"
    data.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = invoke(monkeypatch, database_url, "voice", "evaluate", "--data", str(data))
    assert result.exit_code == 2 and "cannot evaluate" in result.output


def test_evaluate_without_a_file_is_a_usage_error(monkeypatch, database_url, tmp_path):
    result = invoke(monkeypatch, database_url, "voice", "evaluate", "--data", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2


def test_topics_with_too_few_texts_says_so(monkeypatch, database_url):
    result = invoke(monkeypatch, database_url, "texts", "topics")
    assert result.exit_code != 0 and "at least 4 texts" in result.output
