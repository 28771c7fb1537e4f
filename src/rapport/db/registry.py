"""The personal-data registry: every table that holds data about a person declares it here.

Export and erasure are driven from this list, so a new table cannot be forgotten: a test fails
when a table that references a profile is not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

# Rows of the subject: given the person's profile ids and contact-point values, a WHERE clause.
Finder = Callable[[list[str], list[str]], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class PersonalData:
    table: sa.Table
    find: Finder
    personal_columns: tuple[str, ...]
    erase: Literal["delete", "retain"] = "delete"  # retain: kept by legal duty, holds no contact data
    description: str = ""
    found_through: tuple[str, ...] = ()  # registered tables `find` reads: erased after this one


REGISTRY: dict[str, PersonalData] = {}


def register(entry: PersonalData) -> PersonalData:
    REGISTRY[entry.table.name] = entry
    return entry


def by_profile(column: sa.Column[str]) -> Finder:
    return lambda profile_ids, _contacts: column.in_(profile_ids)
