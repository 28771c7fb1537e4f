"""The personal-data registry: every table that holds data about a person is declared in its context's
`PERSONAL_DATA`, and `rapport.contexts` installs them all at once.

Export and erasure are driven from this list, so a new table cannot be forgotten: a test fails
when a table that references a profile is not registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

# Rows of the subject: given the person's profile ids and identifier keys (`email:x@y.z`, and each
# phone's digit spellings, collect/subjects.py), a WHERE clause.
Finder = Callable[[list[str], list[str]], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class PersonalData:
    table: sa.Table
    find: Finder
    erase: Literal["delete", "retain"] = "delete"  # retain: kept by legal duty, holds no contact data
    description: str = ""
    found_through: tuple[str, ...] = ()  # registered tables `find` reads: erased after this one


_INSTALLED: dict[str, PersonalData] = {}


def install(entries: Iterable[PersonalData]) -> dict[str, PersonalData]:
    """Make these the registry: every context's `PERSONAL_DATA`, as `rapport.contexts` lists them."""
    registry = {entry.table.name: entry for entry in entries}
    missing = {name for e in registry.values() for name in e.found_through} - set(registry)
    if missing:
        raise ValueError(f"personal data found through unregistered tables: {sorted(missing)}")
    _INSTALLED.clear()
    _INSTALLED.update(registry)
    return registry


def personal_data() -> dict[str, PersonalData]:
    """The whole registry. Never a part of it: it is installed whole, from the one list of contexts,
    and asking before that is an error, not an export that quietly leaves a table out."""
    if not _INSTALLED:
        raise RuntimeError("the personal-data registry is not installed: import rapport.contexts first")
    return dict(_INSTALLED)


def by_profile(column: sa.Column[str]) -> Finder:
    return lambda profile_ids, _keys: column.in_(profile_ids)
