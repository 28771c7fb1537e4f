"""The layout keeps its promises: dependencies run one way (the import contracts), and every context
contributes what it has through the one list in `rapport.contexts` — a page, a panel, a router or a
table that is not listed there would be silently missing from the app, the export or the erasure."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import typer
from fastapi import APIRouter

import rapport
from rapport import contexts

ROOT = Path(__file__).resolve().parents[3]
NOT_CONTEXTS = {"kernel", "db", "web", "demo"}  # the kernel, storage, the site shells, the demo


def _context_packages() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(rapport.__path__) if m.ispkg and m.name not in NOT_CONTEXTS)


def test_the_import_contracts_hold() -> None:
    importlinter = pytest.importorskip("importlinter.cli", reason="import-linter is a dev dependency")
    assert importlinter.lint_imports(config_filename=str(ROOT / ".importlinter")) == 0, "run `lint-imports`"


def test_every_context_package_is_in_the_one_list() -> None:
    listed = {c.name for c in contexts.CONTEXTS}
    assert set(_context_packages()) <= listed, "add the context to rapport.contexts.CONTEXTS"


@pytest.mark.parametrize("package", _context_packages())
def test_what_a_context_defines_is_what_it_contributes(package: str) -> None:
    context = next(c for c in contexts.CONTEXTS if c.name == package)
    routers: list[APIRouter] = []
    for found in pkgutil.iter_modules(importlib.import_module(f"rapport.{package}").__path__):
        name = found.name
        module = importlib.import_module(f"rapport.{package}.{name}")
        routers += [v for v in vars(module).values() if isinstance(v, APIRouter)]
        if name == "cli":  # every group of commands a context's cli.py makes is listed
            groups = [v for v in vars(module).values() if isinstance(v, typer.Typer)]
            assert groups and all(g in context.commands + context.admin_commands for g in groups), package
        for attr, field in (
            ("NAV", "console_nav"),
            ("PORTAL_NAV", "portal_nav"),
            ("PROFILE_PANELS", "profile_panels"),
            ("MY_DATA_PANELS", "my_data_panels"),
        ):
            for entry in getattr(module, attr, ()):
                assert entry in getattr(context, field), f"rapport.{package}.{name}.{attr} is not listed"
    listed = {id(r) for r in context.api + context.pages}
    missing = [r for r in routers if id(r) not in listed]
    assert not missing, f"routers of {package} that rapport.contexts does not mount: {missing}"


def test_every_table_with_personal_data_is_in_the_registry() -> None:
    declared = {
        entry.table.name
        for package in _context_packages()
        if importlib.util.find_spec(f"rapport.{package}.store")
        for entry in getattr(importlib.import_module(f"rapport.{package}.store"), "PERSONAL_DATA", ())
    }
    assert declared <= set(contexts.REGISTRY)
