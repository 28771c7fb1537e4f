"""What the words say, measured in one run: sentiment against VADER on VADER's own ground truth, and
the time and quality of topics over 15,000 texts against a TF-IDF baseline.

Sentiment. VADER's human-rated ground truth (Hutto & Gilbert, ICWSM 2014: each snippet's mean of about
20 ratings on -4..4) from the vaderSentiment 3.3.2 source archive (found or fetched as
rapport.texts.groundtruth says: $RAPPORT_VADER_SDIST, ../shared/data/vader/, ~/.cache/rapport/, else
`pip download`). Per file: Pearson r of the score with the human mean, and 3-class accuracy (human
mean within ±0.5 is neutral; VADER with its published ±0.05 cut-offs on compound). The shipped head
was trained on the Amazon and NYT files only: the tweets and movie reviews are the held-out figures;
the trained-on files are printed too, marked, and are not a fair comparison. "lexical" is Rapport's
fallback without torch.

Topics. 15,000 texts: Banking77's 10,003 customer questions and 4,997 drawn from CLINC150's training
queries (../shared/data/), with their intents as labels the models never see. Shipped: MiniLM
embeddings (one thread unless --threads), k chosen by silhouette (at most --max-topics), k-means,
c-TF-IDF names. Baseline: TF-IDF vectors and k-means with the same k. Reported: seconds (median of
--repeat runs for the clustering; the encoding once), and NMI of the clusters with the intents.

Usage:  nice -n 10 .venv/bin/python bench/voice.py [--threads 2] [--repeat 3] [--no-cache]

Embeddings of the ground truth are cached in ~/.cache/rapport/bench-embeddings/ (the first run encodes
23,700 snippets, a few minutes); --no-cache encodes again. The topics' encoding is never cached.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rapport.texts import encoder, groundtruth, lexicon, sentiment, topics, train  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CACHE = groundtruth._cache_dir() / "bench-embeddings"


def embeddings_of(name: str, texts: list[str], cache: bool) -> np.ndarray:
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{digest}.npy"
    if cache and path.exists():
        return np.load(path)
    vectors = encoder.embed(texts)
    assert vectors is not None, encoder.unavailable_reason()
    if cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def pearson(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float:
    return float(np.corrcoef(np.asarray(a, dtype=float), np.asarray(b, dtype=float))[0, 1])


def vader_label(compound: float) -> str:
    return "negative" if compound <= -0.05 else "positive" if compound >= 0.05 else "neutral"


def sentiment_table(cache: bool) -> list[dict[str, object]]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    head = sentiment.head()
    assert head is not None, "no sentiment head shipped"
    data = groundtruth.load()
    rows = []
    for name in groundtruth.FILES:
        snippets = data[name]
        texts = [s.text for s in snippets]
        human = [s.mean for s in snippets]
        truth = np.array([s.sentiment for s in snippets])
        v = [vader.polarity_scores(t)["compound"] for t in texts]
        lexical = [lexicon.score(t).compound for t in texts]
        shipped = sentiment.analyses(texts, embeddings_of(name, texts, cache))
        rows.append(
            {
                "file": name,
                "snippets": len(texts),
                "held_out": name not in head.trained_on,
                "r_vader": pearson(v, human),
                "r_shipped": pearson([a.score for a in shipped], human),
                "r_lexical": pearson(lexical, human),
                "acc_vader": float((np.array([vader_label(c) for c in v]) == truth).mean()),
                "acc_shipped": float((np.array([a.sentiment for a in shipped]) == truth).mean()),
                "acc_lexical": float((np.array([vader_label(c) for c in lexical]) == truth).mean()),
            }
        )
    return rows


def corpus(size: int = 15_000) -> tuple[list[str], list[str]]:
    with (DATA / "banking77" / "train.csv").open(encoding="utf-8") as f:
        bank = [(r["text"], "banking77:" + r["category"]) for r in csv.DictReader(f)]
    clinc = json.loads((DATA / "clinc150" / "data_train_val.json").read_text(encoding="utf-8"))["train"]
    rest = random.Random(0).sample([(t, "clinc150:" + c) for t, c in clinc], size - len(bank))
    both = bank + rest
    return [t for t, _ in both], [c for _, c in both]


def topics_run(threads: int, repeat: int, max_topics: int) -> dict[str, object]:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import normalized_mutual_info_score

    texts, intents = corpus()
    encoder.use_threads(threads)
    started, cpu = time.perf_counter(), time.process_time()
    vectors = encoder.embed(texts, batch_size=128)
    encode_s, encode_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert vectors is not None
    encoder.use_threads(1)
    shipped_s, shipped_cpu, found = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        found = topics.cluster(texts, vectors, max_topics)
        shipped_s.append(time.perf_counter() - started)
        shipped_cpu.append(time.process_time() - cpu)
    assert found is not None
    k = len(found.topics)
    baseline_s, baseline_cpu, labels = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        tfidf = TfidfVectorizer(stop_words="english", min_df=3).fit_transform(texts)
        labels = KMeans(n_clusters=k, n_init=3, random_state=topics.SEED).fit_predict(tfidf)
        topics.key_terms(texts, labels, k)
        baseline_s.append(time.perf_counter() - started)
        baseline_cpu.append(time.process_time() - cpu)
    return {
        "texts": len(texts),
        "topics": k,
        "encode_s": encode_s,
        "encode_cpu": encode_cpu,
        "cluster_s": statistics.median(shipped_s),
        "cluster_cpu": statistics.median(shipped_cpu),
        "baseline_s": statistics.median(baseline_s),
        "baseline_cpu": statistics.median(baseline_cpu),
        "nmi_shipped": float(normalized_mutual_info_score(intents, found.labels)),
        "nmi_baseline": float(normalized_mutual_info_score(intents, labels)),
        "examples": [f"{t.name} ({t.size})" for t in found.topics[:8]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="encoder threads for the topics' encoding")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-topics", type=int, default=30)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--skip-topics", action="store_true")
    args = parser.parse_args()

    head = sentiment.head()
    assert head is not None
    print(
        f"Sentiment on VADER's ground truth. Shipped head trained on: {', '.join(head.trained_on)} "
        f"(the default split of rapport.texts.train: {', '.join(train.TRAIN_FILES)}); the rest is held out."
    )
    print("3 classes: human mean <= -0.5 negative, >= 0.5 positive; VADER and lexical cut at +-0.05.\n")
    table = sentiment_table(cache=not args.no_cache)
    print(
        f"{'file':24} {'n':>6} {'split':>10} | {'r VADER':>8} {'r ours':>8} {'ratio':>6} {'r lex':>6}"
        f" | {'acc VADER':>9} {'acc ours':>9} {'ratio':>6} {'acc lex':>8}"
    )
    for row in table:
        split = "held out" if row["held_out"] else "TRAINED"
        r_ratio = row["r_shipped"] / row["r_vader"]  # type: ignore[operator]
        a_ratio = row["acc_shipped"] / row["acc_vader"]  # type: ignore[operator]
        print(
            f"{row['file']:24} {row['snippets']:>6} {split:>10} | {row['r_vader']:>8.3f} {row['r_shipped']:>8.3f}"
            f" {r_ratio:>6.3f} {row['r_lexical']:>6.3f} | {row['acc_vader']:>9.3f} {row['acc_shipped']:>9.3f}"
            f" {a_ratio:>6.3f} {row['acc_lexical']:>8.3f}"
        )
    held = [r for r in table if r["held_out"]]
    beaten = [r["file"] for r in held if r["r_shipped"] > r["r_vader"] and r["acc_shipped"] > r["acc_vader"]]  # type: ignore[operator]
    print(
        f"\nHeld out, beats VADER on both measures: {beaten or 'none'};"
        f" not on both: {[r['file'] for r in held if r['file'] not in beaten] or 'none'}"
    )

    if args.skip_topics:
        return
    print(
        f"\nTopics of 15,000 texts (Banking77 + CLINC150 sample), encoder threads {args.threads}, "
        f"median of {args.repeat}:"
    )
    t = topics_run(args.threads, args.repeat, args.max_topics)
    total = t["encode_s"] + t["cluster_s"]  # type: ignore[operator]
    print(
        f"  machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        " (wall seconds mean little above the core count; CPU seconds are this process's own)"
    )
    print(
        f"  shipped, cold (encode every text, then cluster and name): wall {t['encode_s']:.1f} + "
        f"{t['cluster_s']:.1f} = {total:.1f} s; CPU {t['encode_cpu']:.1f} + {t['cluster_cpu']:.1f} s"
        " (target <= 60 s on 2 cores)"
    )
    print(
        f"  shipped, rebuild (texts encoded when they were recorded, as `rapport texts topics` finds them):"
        f" wall {t['cluster_s']:.1f} s, CPU {t['cluster_cpu']:.1f} s; {t['topics']} topics;"
        f" NMI with intents {t['nmi_shipped']:.3f}"
    )
    print(
        f"  baseline TF-IDF + k-means (same k): wall {t['baseline_s']:.1f} s, CPU {t['baseline_cpu']:.1f} s;"
        f" NMI {t['nmi_baseline']:.3f}"
    )
    print(
        f"  ratio shipped/baseline: rebuild time {t['cluster_s'] / t['baseline_s']:.1f}x, cold "  # type: ignore[operator]
        f"{total / t['baseline_s']:.1f}x; NMI {t['nmi_shipped'] / t['nmi_baseline']:.2f}x"
    )  # type: ignore[operator]
    print("  largest topics: " + "; ".join(t["examples"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
