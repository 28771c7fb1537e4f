"""The CDNOW purchase history (69,659 purchases by 23,570 customers, January 1997 to June 1998),
as shipped in the `lifetimes` wheel, imported through the same pipeline as `rapport import`.

Each line is `customer_id date(YYYYMMDD) number_of_cds dollar_value`, whitespace-separated, after
one header line. `lifetimes` is found without being imported: its `__init__` pulls in pandas.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rapport.collect.importer import ImportReport, Mapping, import_rows
from rapport.collect.service import Source
from rapport.db.engine import Database
from rapport.demo.shop import Tastes, products

PURCHASES = 69_659
CUSTOMERS = 23_570
ID_PREFIX = "cdnow"  # messageIds are cdnow-<line>, so a second import stores nothing twice
MAPPING = Mapping.parse(
    ["properties.quantity=quantity:int", "properties.revenue=amount:number"],
    {"type": "track", "event": "Order Completed"},
)


class DatasetMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Purchase:
    line: int
    customer: int
    day: date
    quantity: int
    amount: float

    @property
    def user_id(self) -> str:
        return user_id(self.customer)


def user_id(customer: int) -> str:
    return f"cdnow-{customer:05d}"


def cdnow_path() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / "datasets" / "CDNOW_master.txt" if locations else None
    if path is None or not path.is_file():
        raise DatasetMissing("the CDNOW data set ships in the `lifetimes` package: pip install 'rapport[demo]'")
    return path


def read_purchases(path: Path | None = None, limit: int | None = None) -> list[Purchase]:
    """The purchases in file order; `limit` keeps the first rows only (for quick tests)."""
    found: list[Purchase] = []
    with (path or cdnow_path()).open(encoding="ascii") as handle:
        for number, text in enumerate(handle, start=1):
            parts = text.split()
            if len(parts) != 4 or not parts[0].isdigit():
                continue  # the header line, or a blank one
            customer, day, quantity, amount = parts
            found.append(
                Purchase(
                    number, int(customer), date(int(day[:4]), int(day[4:6]), int(day[6:])), int(quantity), float(amount)
                )
            )
            if limit is not None and len(found) >= limit:
                break
    return found


def _rows(purchases: list[Purchase]) -> Iterator[tuple[int, dict[str, Any]]]:
    tastes = Tastes()  # which albums each order held (CDNOW's file does not say: demo/shop.py)
    for p in purchases:
        # Strings, as a CSV would give them: the mapping converts them like `rapport import` does.
        yield (
            p.line,
            {
                "userId": p.user_id,
                "timestamp": p.day.isoformat(),
                "quantity": str(p.quantity),
                "amount": f"{p.amount:.2f}",
                "properties.currency": "USD",
                "properties.order_id": f"cdnow-{p.line}",
                "properties.products": products(tastes.albums(p.customer, p.quantity), p.amount),
            },
        )


def import_purchases(
    db: Database, source: Source, purchases: list[Purchase], progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Order Completed events for the store source, validated and logged like any file import."""
    return import_rows(db, source, _rows(purchases), MAPPING, ID_PREFIX, progress)
