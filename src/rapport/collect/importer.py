"""File import for offline channels (store/POS, call centre, ...): CSV or JSON Lines, mapped onto
Segment messages and fed through the same validation and log as the HTTP API.

A mapping says where each message field comes from: `userId=customer_id` copies a column,
`properties.revenue=amount:number` converts on the way; fields without a mapping default to a
column of the same (dotted) name. Without a mapped `messageId`, one is derived from the file's
content hash and the row number, so importing the same file twice stores nothing twice.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rapport.collect import jsondoc, model
from rapport.collect.log import LOG_LOCK, append_messages
from rapport.collect.service import Source
from rapport.db.engine import Database
from rapport.kernel.clock import utcnow

CONVERTERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "number": lambda v: float(v) if any(c in v for c in ".eE") else int(v),
    "int": int,
    "bool": lambda v: {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}[
        v.strip().lower()
    ],
}
CHUNK = 1000
IMPORT_LIBRARY = "rapport-import"  # context.library.name of imported messages


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class FieldMap:
    target: str  # dotted message path, e.g. properties.revenue
    column: str
    convert: str = "string"


@dataclass
class Mapping:
    fields: list[FieldMap] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)  # e.g. {"type": "track", "event": "Order Completed"}

    @classmethod
    def parse(cls, specs: Iterable[str], constants: dict[str, Any] | None = None) -> Mapping:
        fields = []
        for spec in specs:
            target, sep, source = spec.partition("=")
            if not sep or not target.strip() or not source.strip():
                raise MappingError(f"mapping {spec!r} must look like target=column[:type]")
            column, _, convert = source.partition(":")
            convert = convert or "string"
            if convert not in CONVERTERS:
                raise MappingError(f"mapping {spec!r}: type must be one of {', '.join(CONVERTERS)}")
            fields.append(FieldMap(target.strip(), column.strip(), convert))
        return cls(fields, dict(constants or {}))


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def reject(self, line: int, code: str, reason: str) -> None:
        self.rejected += 1
        self.reasons[code] += 1
        if len(self.examples) < 20:
            self.examples.append(f"row {line}: {code}: {reason}")


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        node = target.setdefault(part, {})
        if not isinstance(node, dict):
            raise MappingError(f"{path}: {part} is not an object")
        target = node
    target[leaf] = value


def build_message(row: dict[str, Any], mapping: Mapping) -> dict[str, Any]:
    """One input row as a Segment message. Raises ValueError with a reason for a bad row."""
    message: dict[str, Any] = {}
    mapped_columns = {f.column for f in mapping.fields}
    for column, value in row.items():
        if column not in mapped_columns and value not in (None, "") and column:
            _set_path(message, column, value)
    for f in mapping.fields:
        if f.column not in row:
            raise ValueError(f"column {f.column!r} is missing")
        value = row[f.column]
        if value in (None, ""):
            continue
        try:
            value = CONVERTERS[f.convert](value) if isinstance(value, str) else value
        except (ValueError, KeyError):
            raise ValueError(f"column {f.column!r}: {value!r} is not a {f.convert}") from None
        _set_path(message, f.target, value)
    for key, value in mapping.constants.items():
        message.setdefault(key, value)
    return message


class FileError(ValueError):
    """The file as a whole cannot be read (its encoding); nothing of it was imported."""


def read_rows(path: Path, encoding: str = "utf-8") -> tuple[Iterator[tuple[int, dict[str, Any] | str]], str]:
    """Rows of a CSV or JSON Lines file, with line numbers (a row that cannot be read is a str
    reason), and the messageId prefix of this file's content, for `import_rows`.

    The whole file is decoded first: a file in another encoding than the one named (POS exports are
    often Windows-1252) is refused before anything is imported, rather than stored garbled."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    try:
        text = data.decode("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)
    except LookupError:
        raise FileError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileError(
            f"{path.name} is not {encoding}: byte 0x{data[exc.start]:02x} on line {line} cannot be read; "
            "name the file's encoding with --encoding (e.g. cp1252, latin-1)"
        ) from None
    prefix = f"import-{digest}"
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return _jsonl(text), prefix
    return _csv(text), prefix


def _csv(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Rows after the header, numbered as lines when no field spans lines; a row the csv module
    cannot read (a field over its 128 KiB limit) is a reason, and reading goes on after it."""
    reader = csv.DictReader(io.StringIO(text))
    number = 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, f"not a readable CSV row: {exc}"
            continue
        yield number, row


def _jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = jsondoc.decode(line)
        except orjson.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc}"
            continue
        yield number, value if isinstance(value, dict) else "a line must be a JSON object"


def import_rows(
    db: Database,
    source: Source,
    rows: Iterable[tuple[int, dict[str, Any] | str]],
    mapping: Mapping,
    id_prefix: str,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and append rows in chunks; every rejected row becomes a dead letter with its reason."""
    report = ImportReport()
    accepted: list[model.Accepted] = []
    rejected: list[model.Rejected] = []

    def flush() -> None:
        if accepted or rejected:
            with db.write(lock=LOG_LOCK) as conn:
                result = append_messages(conn, source.id, accepted, rejected)
            report.accepted += result.stored
            report.duplicates += result.duplicates
            if progress:
                progress(len(accepted) + len(rejected))
            accepted.clear()
            rejected.clear()

    envelope = model.Envelope({}, {}, None, utcnow())
    for line, row in rows:
        report.rows += 1
        if isinstance(row, str):
            result: model.Accepted | model.Rejected = model.Rejected("invalid_row", row, {"line": line})
        else:
            try:
                message = build_message(row, mapping)
            except ValueError as exc:
                result = model.Rejected("invalid_row", str(exc), {"line": line, "row": row})
            else:
                message.setdefault("messageId", f"{id_prefix}-{line}")
                message.setdefault("context", {}).setdefault("library", {"name": IMPORT_LIBRARY})
                result = model.normalize_message(message, envelope, max_bytes=source.max_message_bytes)
        if isinstance(result, model.Rejected):
            report.reject(line, result.code, result.reason)
            rejected.append(result)
        else:
            accepted.append(result)
        if len(accepted) + len(rejected) >= CHUNK:
            flush()
    flush()
    return report
