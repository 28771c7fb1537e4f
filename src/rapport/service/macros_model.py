"""Macros: an agent's saved replies, with the few placeholders a reply needs (pure).

A macro's text may name `{first_name}`, `{name}`, `{reference}`, `{subject}` and `{agent}`, filled in
from the case when the agent uses it; any other `{...}` is refused when the macro is saved, so a
typo never reaches a customer. Filling in is a plain substitution of those names: nothing in a
macro or a customer's name is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapport.kernel.rules import RuleError
from rapport.service.model import STATUSES, clean_tags

PLACEHOLDERS = ("first_name", "name", "reference", "subject", "agent")
MAX_NAME = 120
MAX_TEXT = 20_000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class MacroError(RuleError):
    pass


@dataclass(frozen=True)
class MacroSpec:
    name: str
    text: str
    status: str | None = None  # the status the case takes when the macro is used
    tags: tuple[str, ...] = ()  # added to the case's tags
    internal: bool = False  # an internal note rather than a reply


def check_macro(spec: MacroSpec) -> MacroSpec:
    name = " ".join(spec.name.split())
    if not name or len(name) > MAX_NAME:
        raise MacroError("invalid_name", f"a macro's name is 1 to {MAX_NAME} characters")
    if not spec.text.strip() or len(spec.text) > MAX_TEXT:
        raise MacroError("invalid_text", f"a macro's text is 1 to {MAX_TEXT} characters")
    unknown = sorted({p for p in _PLACEHOLDER.findall(spec.text) if p not in PLACEHOLDERS})
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise MacroError("unknown_placeholder", f"unknown placeholder {{{unknown[0]}}}: use {known}")
    if spec.status is not None and spec.status not in STATUSES:
        raise MacroError("invalid_status", f"status is one of {', '.join(STATUSES)}")
    try:
        tags = tuple(clean_tags(list(spec.tags)) or ())
    except ValueError as exc:
        raise MacroError("invalid_tags", str(exc)) from None
    return MacroSpec(name, spec.text, spec.status, tags, spec.internal)


def first_name(name: str | None) -> str:
    return (name or "").strip().split(" ")[0] if name and name.strip() else ""


def fill(text: str, values: Mapping[str, str | None]) -> str:
    """The macro's text with its placeholders filled in; an unknown value becomes empty, and the
    greeting it leaves ("Hello ,") is tidied."""
    filled = _PLACEHOLDER.sub(
        lambda m: str(values.get(m.group(1)) or "") if m.group(1) in PLACEHOLDERS else m.group(0), text
    )
    return re.sub(r"[ \t]+([,.!?])", r"\1", filled)


def merged_tags(current: Sequence[str] | None, added: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*(current or []), *added]))
