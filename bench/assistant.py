"""Headline figures of issue 16 for the assistant.

1. Quality on data the models never saw. Banking77: a fixed, stratified 20% of the training file is
   held out; each model trains on the other 80% and CLINC150's out-of-scope training examples with
   the shipped recipe (the threshold chosen on a tenth of them and half the out-of-scope ones, then
   the classifier fit again on all): accuracy and macro-F1 on the held-out 20%, and in-scope
   accuracy and out-of-scope recall with CLINC150's out-of-scope validation examples, which no
   model saw. CLINC150: the same recipe on its 150 intents' training split and its out-of-scope
   training examples, measured on the validation split: in-scope accuracy (a rejected question
   counts as wrong) and out-of-scope recall.
   Shipped model (MiniLM + TF-IDF, logistic regression) next to the baseline (TF-IDF + logistic
   regression alone), both trained in this run.
2. Latency of one message, p50/p99: in-process (`rapport.assistant.service.post_message`, a new
   conversation each, on SQLite with the 77-article bank help center) and over HTTP (uvicorn, one
   keep-alive connection), for both models (the baseline's figures are the ratio's denominator).

    nice .venv/bin/python bench/assistant.py [--messages 300] [--skip-clinc] [--latency-only]

Embeddings are cached under RAPPORT_DATA_DIR (or --cache), so a second run skips the encoding.
Goals: accuracy >= 0.94; out-of-scope recall >= 0.85 at in-scope accuracy >= 0.95; p99 <= 30 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import joblib
import torch

from rapport.assistant import data, deploy, intents
from rapport.assistant.embed import EmbeddingCache
from rapport.assistant.evaluate import measure
from rapport.assistant.service import post_message
from rapport.collect.service import create_source
from rapport.db.engine import open_database
from rapport.db.migrate import upgrade
from rapport.demo.bank_kb import publish_bank_kb
from rapport.settings import load_settings

SEED = 16


def quality(cache: EmbeddingCache, skip_clinc: bool) -> tuple[dict[str, Any], dict[str, intents.IntentModel]]:
    clinc = data.clinc150()
    train, held_out = data.stratified_split(data.banking77(), 0.2, SEED)
    results: dict[str, Any] = {}
    models = {}
    for kind in (intents.MINILM, intents.LEXICAL):
        started = time.monotonic()
        model = intents.train(train, clinc.out_of_scope("train"), kind=kind, cache=cache)
        cache.save()
        models[kind] = model
        deploy.save(model, bench_model_path(kind))  # for --latency-only
        banking = measure(model, held_out, [], cache)
        banking |= {"train_s": round(time.monotonic() - started, 1), "threshold": round(model.threshold, 4)}
        with_oos = measure(model, held_out, clinc.out_of_scope("val"), cache)
        banking |= {k: with_oos[k] for k in ("in_scope_accuracy", "oos_recall")}
        results[kind] = {"banking77_held_out": banking}
        if not skip_clinc:
            started = time.monotonic()
            clinc_model = intents.train(clinc.examples("train"), clinc.out_of_scope("train"), kind=kind, cache=cache)
            cache.save()
            figures = measure(clinc_model, clinc.examples("val"), clinc.out_of_scope("val"), cache)
            figures |= {"train_s": round(time.monotonic() - started, 1), "threshold": round(clinc_model.threshold, 4)}
            results[kind]["clinc150_val"] = figures
        print(json.dumps({kind: results[kind]}), flush=True)
    return results, models


def bench_model_path(kind: str) -> Path:
    return deploy.model_dir(load_settings()) / f"bench-banking77-{kind}.joblib"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def latency(models: dict[str, intents.IntentModel], messages: int) -> dict[str, Any]:
    import uvicorn

    from rapport.app import create_app

    questions = [t for t, _ in data.stratified_split(data.banking77(), 0.2, SEED)[1]][:messages]
    out: dict[str, Any] = {}
    for kind, model in models.items():
        root = Path(tempfile.mkdtemp(prefix=f"rapport-bench-{kind}-"))
        deploy.save(model, root / "assistant" / "intent-model.joblib")
        settings = load_settings(
            database_url=f"sqlite:///{root / 'bench.db'}", processor="off", data_dir=root, sqlite_synchronous="NORMAL"
        )
        db = open_database(settings)
        upgrade(db)
        publish_bank_kb(db)
        source = create_source(db, "site", "web")
        deploy.deployed(settings)  # loaded once, before timing
        post_message(db, source_id=source.id, anonymous_id="warm", text="warm up")
        in_process = []
        for n, text in enumerate(questions):
            started = time.perf_counter()
            post_message(db, source_id=source.id, anonymous_id=f"bench-{n}", text=text)
            in_process.append(time.perf_counter() - started)
        server = uvicorn.Server(uvicorn.Config(create_app(settings, db), port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        conn = http.client.HTTPConnection("127.0.0.1", port)
        over_http = []
        for n, text in enumerate(questions):
            body = json.dumps({"text": text, "anonymousId": f"http-{n}"})
            started = time.perf_counter()
            conn.request(
                "POST",
                "/v1/assistant/messages",
                body,
                {"X-Write-Key": source.write_key, "Content-Type": "application/json"},
            )
            res = conn.getresponse()
            res.read()
            over_http.append(time.perf_counter() - started)
            assert res.status == 200, res.status
        server.should_exit = True
        thread.join(10)
        db.dispose()
        out[kind] = {"in_process": percentiles(in_process), "http": percentiles(over_http), "messages": len(questions)}
        print(json.dumps({kind: out[kind]}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--skip-clinc", action="store_true")
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache file")
    parser.add_argument("--latency-only", action="store_true", help="time the models an earlier run trained")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = EmbeddingCache(args.cache or deploy.cache_for(load_settings()).path)
    if args.latency_only:
        models = {kind: joblib.load(bench_model_path(kind)) for kind in (intents.MINILM, intents.LEXICAL)}
        print(json.dumps({"latency": latency(models, args.messages)}, indent=2))
        return
    results, models = quality(cache, args.skip_clinc)
    timing = latency(models, args.messages)
    shipped, base = results[intents.MINILM], results[intents.LEXICAL]
    summary = {
        "banking77_accuracy": shipped["banking77_held_out"]["accuracy"],
        "banking77_accuracy_vs_baseline": round(
            shipped["banking77_held_out"]["accuracy"] / base["banking77_held_out"]["accuracy"], 3
        ),
        "banking77_macro_f1": shipped["banking77_held_out"]["macro_f1"],
        "p99_in_process_ms": timing[intents.MINILM]["in_process"]["p99_ms"],
        "p99_http_ms": timing[intents.MINILM]["http"]["p99_ms"],
        "p99_http_vs_baseline": round(
            timing[intents.MINILM]["http"]["p99_ms"] / timing[intents.LEXICAL]["http"]["p99_ms"], 2
        ),
    }
    if "clinc150_val" in shipped:
        summary |= {
            "clinc150_in_scope_accuracy": shipped["clinc150_val"]["in_scope_accuracy"],
            "clinc150_oos_recall": shipped["clinc150_val"]["oos_recall"],
            "clinc150_oos_recall_vs_baseline": round(
                shipped["clinc150_val"]["oos_recall"] / max(1e-9, base["clinc150_val"]["oos_recall"]), 3
            ),
        }
    print(json.dumps({"quality": results, "latency": timing, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
