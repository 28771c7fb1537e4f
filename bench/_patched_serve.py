"""`rapport` with PROTOTYPE optimizations patched in, to measure what a change to src/ would gain.

Run as `python bench/_patched_serve.py serve ...` with BENCH_PATCHES=comma,separated,names. The patches
are applied at import, so the processor child (multiprocessing spawn re-runs this file as
`__mp_main__`) gets them too. Nothing here is used by rapport itself; the benchmarks only.

  flock      SQLite write transactions first take an OS file lock (fcntl.flock) next to the database,
             so a waiting writer wakes the moment the other commits instead of sleeping in SQLite's
             busy handler (which backs off up to 100 ms) -- db/engine.py Database.write
(Earlier prototypes are now in rapport itself: raw-append, phone-cache, short-txn (resolve under a
read transaction, write lock only to flush) and, instead of stats-sql, the processor's stats cache.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PATCHES = {p.strip() for p in os.environ.get("BENCH_PATCHES", "").split(",") if p.strip()}


def _patch_flock() -> None:
    from rapport.db import engine

    original = engine.Database.write

    @contextmanager
    def write(self: Any, lock: str | None = None) -> Iterator[Any]:
        path = self.settings.sqlite_path
        if path is None:
            with original(self, lock) as conn:
                yield conn
            return
        fd = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)  # one per call: flock is per open file
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with original(self, lock) as conn:
                yield conn
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    engine.Database.write = write  # type: ignore[method-assign]


ALL = {
    "flock": _patch_flock,
}
for _name, _apply in ALL.items():
    if _name in PATCHES:
        _apply()
unknown = PATCHES - set(ALL)
if unknown:
    raise SystemExit(f"unknown BENCH_PATCHES: {', '.join(sorted(unknown))}")

if __name__ == "__main__":
    from rapport.cli import main

    main()
