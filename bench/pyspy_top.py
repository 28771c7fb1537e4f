"""Summarize a py-spy raw (collapsed stacks) profile: the hottest functions by self and inclusive samples.

Usage:  .venv/bin/python bench/pyspy_top.py PROFILE.txt [--top 25] [--thread NAME] [--under FUNC] [--src-only]

`--thread` keeps stacks of threads whose name contains NAME (py-spy `--threads` output), `--under`
keeps stacks passing through a frame containing FUNC, `--src-only` attributes self time to the
innermost rapport frame (what our code asked for, whatever library did the work).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str, with_line: bool) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("site-packages/", "lib/python3.11/", "src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path}{':' + m['line'] if with_line and m['line'] else ''})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread")
    parser.add_argument("--under")
    parser.add_argument("--src-only", action="store_true")
    parser.add_argument("--lines", action="store_true", help="keep line numbers (finer attribution)")
    args = parser.parse_args()

    threads: Counter[str] = Counter()
    selfc: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for raw in Path(args.profile).read_text().splitlines():
        stack, _, count_s = raw.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else ""
        if thread:
            frames = frames[1:]
        if not frames or (args.thread and args.thread not in thread):
            continue
        if args.under and not any(args.under in f for f in frames):
            continue
        threads[thread] += count
        total += count
        names = [short(f, args.lines) for f in frames]
        if args.src_only:
            ours = [n for n in names if "rapport/" in n]
            selfc[ours[-1] if ours else "(outside rapport) " + names[-1]] += count
        else:
            selfc[names[-1]] += count
        for n in set(names):
            incl[n] += count
    print(f"{total} samples")
    for name, c in threads.most_common(8):
        print(f"  {c:>7} {100 * c / max(total, 1):5.1f}%  {name}")
    print(f"\nself (top {args.top}):")
    for name, c in selfc.most_common(args.top):
        print(f"  {100 * c / max(total, 1):5.1f}%  {name}")
    print(f"\ninclusive (top {args.top}):")
    for name, c in incl.most_common(args.top):
        print(f"  {100 * c / max(total, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
