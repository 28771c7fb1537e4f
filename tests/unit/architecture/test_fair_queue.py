"""Fair by construction: the queue cannot reach influence data. The import contract says so and
lint-imports checks it; these tests check that the contract exists, that it holds over every import
chain (direct or not), and that the queue's code does not name the influence table either (SQL
could read a table no import names)."""

from __future__ import annotations

import configparser
import inspect
from pathlib import Path

import pytest

import rapport.service
from rapport.service import influence, model, queue

ROOT = Path(__file__).resolve().parents[3]
QUEUE_SIDE = (
    "rapport.service.queue",
    "rapport.service.model",
    "rapport.service.sla",
    "rapport.service.clock",
    "rapport.service.service",
)


def test_the_contract_forbids_the_queue_any_import_of_influence() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    contract = config["importlinter:contract:fair-queue"]
    assert contract["type"] == "forbidden"
    assert set(QUEUE_SIDE) <= set(contract["source_modules"].split())
    assert contract["forbidden_modules"].split() == ["rapport.service.influence"]
    assert contract["allow_indirect_imports"].strip() == "False"


def test_no_import_chain_leads_from_the_queue_to_influence() -> None:
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter, a dev dependency")
    graph = grimp.build_graph("rapport")
    for module in QUEUE_SIDE:
        assert not graph.chain_exists(importer=module, imported="rapport.service.influence"), module


def test_the_queue_code_names_no_influence_table_or_column() -> None:
    table = influence.case_influence.name
    for module in (queue, model):
        source = inspect.getsource(module)
        code = source.split('"""', 2)[-1]  # the docstring may explain what the module cannot see
        assert table not in code and "followers" not in code and "influence" not in code, module.__name__
    assert rapport.service.store.__name__ in inspect.getsource(queue)  # it orders the cases table only


def test_the_queue_key_reads_only_case_attributes() -> None:
    fields = set(inspect.signature(model.QueueKey).parameters)
    assert fields == {"due_at", "priority_rank", "waiting_since", "case_id"}
