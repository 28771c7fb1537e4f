"""What bench/ingest.py prints: one line per run, then the medians per number of workers."""

from __future__ import annotations

import argparse
import os
from typing import Any

from _workload import median

TARGET_RATE = 20_000
TARGET_VISIBLE_S = 2.0
TARGET_RSS_MB = 1024


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def describe(r: dict[str, Any], raw_name: str) -> str:
    line = (
        f"{r['rate']:,.0f} ev/s accepted ({r['send_s']:.1f}s; ack p50 {r['p50_ack_ms']:.0f} ms, "
        f"p99 {r['p99_ack_ms']:.0f} ms) | raw {raw_name} {r['raw_rate']:,.0f} rows/s | ratio {r['ratio']:.3f} | "
        f"visible {fmt(r['visible_s'])}s after last ack (lag then {r['lag_at_last_ack']} events; "
        f"reached {r['reached']}/{r['head']}) | RSS server {r['rss_server_mb']:.0f} MB, "
        f"processor {r['rss_processor_mb']:.0f} MB | CPU during send: server {r['cpu_server_send']:.1f}s"
        + (f" ({' + '.join(f'{c:.1f}' for c in r['cpu_workers_send'])} in workers)" if r["cpu_workers_send"] else "")
        + ", "
        + f"processor {r['cpu_processor_send']:.1f}s, client {r['cpu_client_send']:.1f}s"
        + (f", database {r['cpu_db_send']:.1f}s" if r["waits"] else "")
        + f", machine busy {r['machine_busy_cores']:.2f} of {os.cpu_count()} cores, "
        f"stolen {r['machine_stolen_cores']:.2f}; CPU us/event to caught-up: server {r['cpu_us_server']:.0f}, "
        f"processor {r['cpu_us_processor']:.0f} | profiles {r['profiles']} | check {r['check']}"
        + f" | retried {r['retries']}"
        + (f" | ON NO PROFILE (skipped) {r['skipped']}" if r["skipped"] else "")
        + (f" | ERRORS {len(r['errors'])}: {r['errors'][:3]}" if r["errors"] else "")
    )
    if w := r["waits"]:
        holder = ", ".join(f"{k} {v:.0%}" for k, v in w["holder"].items())
        others = ", ".join(f"{k} {v:.2f}" for k, v in w["others"].items())
        line += (
            f"\n    log lock: held {w['lock_held']:.0%} of the time"
            + (
                f" ({r['lock_us']:.0f} us an event: it allows {1e6 / r['lock_us']:,.0f} events/s held throughout)"
                if r["lock_us"]
                else ""
            )
            + f", {w['lock_waiters']:.2f} appends waiting for it on average; its holder: {holder or '-'} | "
            f"other active connections: {others or '-'} "
            f"({w['samples']} samples)"
        )
    return line


def summarize(args: argparse.Namespace, results: list[dict[str, Any]], raw_name: str) -> None:
    label = f"synchronous={args.synchronous}" if not args.database_url else "PostgreSQL"
    print(f"\nmedians of {args.repeat} runs ({label}" + (f", PATCHED: {args.patch}" if args.patch else "") + "):")
    print(
        f"  {'workers':>7} {'events/s':>9} {'raw ' + raw_name:>14} {'ratio':>6} {'visible s':>9} {'ack p99':>8} "
        f"{'busy':>5} {'stolen':>6} {'lock held':>9} {'us/ev':>5} {'waiting':>7} {'us/ev srv':>9} {'us/ev proc':>10}"
    )
    for workers in args.worker_counts:
        rs = [r for r in results if r["workers"] == workers]
        vis = [r["visible_s"] for r in rs]
        med = {k: median([r[k] for r in rs]) for k in ("rate", "raw_rate", "ratio", "p99_ack_ms")}
        med |= {k: median([r[k] for r in rs]) for k in ("machine_busy_cores", "machine_stolen_cores")}
        med |= {k: median([r[k] for r in rs]) for k in ("cpu_us_server", "cpu_us_processor", "rss_total_mb")}
        waits = [r["waits"] for r in rs if r["waits"]]
        held = f"{median([w['lock_held'] for w in waits]):.0%}" if waits else "-"
        waiting = f"{median([w['lock_waiters'] for w in waits]):.2f}" if waits else "-"
        lock_us = f"{median([r['lock_us'] for r in rs]):.0f}" if waits else "-"
        print(
            f"  {workers:>7} {med['rate']:>9,.0f} {med['raw_rate']:>14,.0f} {med['ratio']:>6.3f} "
            f"{fmt(median(vis)) if all(v is not None for v in vis) else 'n/a':>9} {med['p99_ack_ms']:>6.0f}ms "
            f"{med['machine_busy_cores']:>5.2f} {med['machine_stolen_cores']:>6.2f} "
            f"{held:>9} {lock_us:>5} {waiting:>7} "
            f"{med['cpu_us_server']:>9.0f} {med['cpu_us_processor']:>10.0f}"
        )
    if any(r["skipped"] for r in results):
        skipped = "; ".join(
            f"{w} workers: {', '.join(str(r['skipped']) for r in results if r['workers'] == w)}"
            for w in args.worker_counts
        )
        print(f"  EVENTS ON NO PROFILE after the processor caught up (it passed over them): {skipped}")
    best = max(median([r["rate"] for r in results if r["workers"] == w]) for w in args.worker_counts)
    rss = max(r["rss_total_mb"] for r in results)
    print(
        f"  targets: {TARGET_RATE:,} events/s {'met' if best >= TARGET_RATE else 'NOT met'} (best median "
        f"{best:,.0f}); visible after ack <= {TARGET_VISIBLE_S}s; peak RSS of all server processes "
        f"{rss:.0f} MB (<= {TARGET_RSS_MB}: {'met' if rss <= TARGET_RSS_MB else 'NOT met'})"
    )
