"""Headline figures of issue 16 for knowledge-base search, lexical and hybrid.

1. Quality on real customer questions: a one-article-per-intent knowledge base built from
   Banking77 (title from the intent's name, the intent's *training* questions as its known
   questions), queried with the held-out questions of each intent (a fixed 20%, never seen by the
   index): hit@1, hit@3 and MRR@10, then the same questions with typos injected (one edit in about
   half the words of four letters or more, fixed seed), with typo correction on and off.
2. p50/p99 latency of one search (`rapport.kb.service.search`, unlogged, in-process) with 10,000
   articles: the 77 above and 9,923 distractors made of CLINC150 training questions; baseline: a
   plain FTS5 bm25 query of the same words on the same connection (SQLite; the ratio is printed).
   Target p99 <= 20 ms.

    .venv/bin/python bench/kb_search.py [--articles 10000] [--queries 500] [--database-url URL] [--no-semantic]

3. With the model stack (rapport[ml]), the same figures for hybrid ranking (kb/semantic.py: the best
   30 lexical candidates re-ranked by 0.5 x lexical + 0.5 x cosine with the shared MiniLM encoder; an
   article is its title and 20 known questions),
   after every article was embedded (the time that takes is printed).

With --database-url (PostgreSQL, wiped) it runs there; the baseline is then a plain tsquery.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from rapport.db.engine import Database, open_database
from rapport.db.migrate import upgrade
from rapport.kb import model, semantic, service
from rapport.kb.model import Draft
from rapport.settings import load_settings

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SEED = 16


def banking77() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    with open(DATA / "banking77" / "train.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["category"]].append(row["text"])
    rng = random.Random(SEED)
    train, held_out = {}, []
    for intent, texts in sorted(by_intent.items()):
        texts = texts[:]
        rng.shuffle(texts)
        cut = len(texts) // 5
        held_out += [(t, intent) for t in texts[:cut]]
        train[intent] = texts[cut:]
    return train, held_out


def typo(text: str, rng: random.Random) -> str:
    def edit(word: str) -> str:
        i = rng.randrange(len(word) - 1)
        kind = rng.choice("dtsi")
        letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
        if kind == "d":
            return word[:i] + word[i + 1 :]
        if kind == "t":
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if kind == "s":
            return word[:i] + letter + word[i + 1 :]
        return word[:i] + letter + word[i:]

    return " ".join(edit(w) if len(w) >= 4 and w.isalpha() and rng.random() < 0.5 else w for w in text.split())


def open_fresh(url: str | None) -> Database:
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='kb-bench-')}/kb.db"
    db = open_database(load_settings(database_url=url, sqlite_synchronous="NORMAL"))
    if db.dialect == "postgresql":
        with db.writer.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(db)
    return db


def slug(intent: str) -> str:
    return intent.lower().rstrip("?")


def intent_articles(train: dict[str, list[str]]) -> list[tuple[Draft, str | None, str]]:
    """One article per intent: its name as title and body, its training questions as known questions."""
    made: list[tuple[Draft, str | None, str]] = []
    for intent, questions in train.items():
        name = slug(intent).replace("_", " ")
        made.append(
            (Draft(name.capitalize(), name, "banking", "en", tuple(questions[:500])), slug(intent), "published")
        )
    return made


def distractors(count: int) -> list[tuple[Draft, str | None, str]]:
    clinc = json.loads((DATA / "clinc150" / "data_train_val.json").read_text())
    texts = [t for t, _ in clinc["train"]]
    rng = random.Random(SEED)
    made = []
    for n in range(count):
        pick = rng.sample(texts, 9)
        made.append(
            (Draft(pick[0][:200], "\n\n".join(pick[1:4]), "other", "en", tuple(pick[4:])), f"d-{n}", "published")
        )
    return made


def quality(db: Database, queries: list[tuple[str, str]], semantic: bool = False) -> dict[str, float]:
    hits1 = hits3 = 0
    rr = 0.0
    for text, intent in queries:
        slugs = [h.article["slug"] for h in service.search(db, text, limit=10, log=False, semantic=semantic).hits]
        rank = slugs.index(slug(intent)) + 1 if slug(intent) in slugs else None
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        rr += 1 / rank if rank else 0.0
    n = len(queries)
    return {"hit@1": hits1 / n, "hit@3": hits3 / n, "mrr@10": rr / n}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def baseline_search(db: Database, text: str) -> None:
    words = [w for w in model.words(text) if w not in model.STOP_WORDS][:16]
    if not words:
        return
    with db.read() as conn:
        if db.dialect == "postgresql":
            q = " | ".join(f"'{w}'" for w in words)
            sql = "SELECT article_id FROM native_kb_search WHERE document @@ to_tsquery('english', :q) "
            sql += "ORDER BY ts_rank(document, to_tsquery('english', :q)) DESC LIMIT 10"
        else:
            q = " OR ".join(f'"{w}"' for w in words)
            sql = "SELECT rowid FROM native_kb_fts WHERE native_kb_fts MATCH :q ORDER BY bm25(native_kb_fts) LIMIT 10"
        conn.execute(sa.text(sql), {"q": q}).all()


def latency(db: Database, texts: list[str], semantic: bool = False) -> dict[str, float]:
    ours, base = [], []
    for text in texts:  # interleaved, so both see the same machine
        start = time.perf_counter()
        service.search(db, text, limit=10, log=False, semantic=semantic)
        ours.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        baseline_search(db, text)
        base.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": statistics.median(ours),
        "p99_ms": percentile(ours, 0.99),
        "baseline_p50_ms": statistics.median(base),
        "baseline_p99_ms": percentile(base, 0.99),
        "p99_ratio": percentile(ours, 0.99) / percentile(base, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500, help="held-out questions timed at 10,000 articles")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--semantic", action=argparse.BooleanOptionalAction, default=True, help="also measure hybrid re-ranking"
    )
    args = parser.parse_args()

    train, held_out = banking77()
    rng = random.Random(SEED)
    typed = [(typo(t, rng), intent) for t, intent in held_out]
    db = open_fresh(args.database_url)
    service.import_articles(db, intent_articles(train), actor="bench")
    print(f"{db.dialect}: {len(train)} intent articles, {len(held_out)} held-out questions")
    print("clean questions       ", _fmt(quality(db, held_out)))
    print("with typos            ", _fmt(quality(db, typed)))
    correct = service.correct
    service.correct = lambda _conn, word, _config: word  # type: ignore[assignment]
    print("with typos, no fixing ", _fmt(quality(db, typed)))
    service.correct = correct  # type: ignore[assignment]
    if args.semantic:
        started = time.perf_counter()
        semantic.warm(service.published_articles(db))
        print(f"hybrid: {len(train)} articles embedded in {time.perf_counter() - started:.1f} s")
        print("hybrid, clean         ", _fmt(quality(db, held_out, semantic=True)))
        print("hybrid, with typos    ", _fmt(quality(db, typed, semantic=True)))

    start = time.perf_counter()
    extra = distractors(args.articles - len(train))
    for i in range(0, len(extra), 1000):
        service.import_articles(db, extra[i : i + 1000], actor="bench")
    print(f"{args.articles} articles indexed in {time.perf_counter() - start:.1f} s")
    if db.dialect == "postgresql":  # what autovacuum does shortly after an import: the timings see a settled table
        with db.writer.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    sample = random.Random(SEED).sample(range(len(held_out)), min(args.queries, len(held_out)))
    print("clean, 10k articles   ", _fmt(quality(db, [held_out[i] for i in sample])))
    print("latency, clean        ", _fmt(latency(db, [held_out[i][0] for i in sample])))
    print("latency, with typos   ", _fmt(latency(db, [typed[i][0] for i in sample])))
    if args.semantic:
        started = time.perf_counter()
        semantic.warm(service.published_articles(db))
        print(f"hybrid: {args.articles} articles embedded in {time.perf_counter() - started:.1f} s")
        print("hybrid, clean, 10k    ", _fmt(quality(db, [held_out[i] for i in sample], semantic=True)))
        print("latency, hybrid       ", _fmt(latency(db, [held_out[i][0] for i in sample], semantic=True)))
    db.dispose()


def _fmt(figures: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in figures.items())


if __name__ == "__main__":
    main()
