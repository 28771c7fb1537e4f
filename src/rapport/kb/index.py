"""The stores' own full-text search, behind one interface: SQLite's FTS5 (porter tokenizer, bm25
with column weights; a trigram table over the vocabulary) and PostgreSQL's tsvector (a language
configuration, weights A/B/C, IDF-weighted ts_rank; pg_trgm over the vocabulary).

What a query means is decided once, in Python (`rapport.kb.model`, `rapport.kb.service`): which
words, phrases and prefixes, which typos corrected to what, which synonyms. Here each store only
matches and ranks that plan. Every word reaching a query string is letters and digits only
(`model.words`), so nothing typed can become an operator of either query language.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from rapport.kb.model import Candidate, Spellings, ending_stems, trigrams
from rapport.kb.store import kb_documents, kb_terms

# Title, known questions, body: a match in the title or a known question weighs more than in the body.
WEIGHTS = (10.0, 5.0, 1.0)
PG_WEIGHTS = f"{{0.1, {WEIGHTS[2] / WEIGHTS[0]}, {WEIGHTS[1] / WEIGHTS[0]}, 1.0}}"  # D, C, B, A
TRIGRAM_CANDIDATES = 50
# A long question is matched and ranked on its rarest words only: its common ones ("account",
# "card", "money") match most articles and cost every one of them a rank on PostgreSQL, for next to
# no say in the order (bench/kb_search.py: the same hit rates with 8; typos p99 on PostgreSQL 33-35 -> 22 ms).
MAX_CLAUSES = 8

Alternatives = tuple[tuple[str, ...], ...]  # one clause: words or phrases, any of which may match


@dataclass(frozen=True)
class Plan:
    """What to match: optional clauses (each matched one ranks higher), required phrases, excluded
    words, a prefix."""

    clauses: tuple[Alternatives, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()
    prefix: str | None = None


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def in_use(conn: Connection, words: list[str]) -> set[str]:
    """Which of these words a published article uses as written (one read of the vocabulary's
    counts for them all): such a word is known, and needs no look at the store's own index."""
    return set(_counts(conn, set(words))) if words else set()


def known(conn: Connection, word: str, config: str) -> bool:
    """Whether any published article matches the word, as the store stems it."""
    if _postgres(conn):
        # Through the GIN index always: with LIMIT 1 and the word a parameter (an InitPlan, or a
        # generic plan) the planner expects an early match and scans rows until one matches, all of
        # them for a misspelt word. MATERIALIZED: PostgreSQL 12 or later.
        found = f"SELECT article_id FROM native_kb_search WHERE document @@ {_once('plainto_tsquery', 'w')}"
        sql = f"WITH found AS MATERIALIZED ({found}) SELECT 1 FROM found LIMIT 1"
        return conn.execute(sa.text(sql), {"c": config, "w": word}).first() is not None
    sql = "SELECT 1 FROM native_kb_fts WHERE native_kb_fts MATCH :q LIMIT 1"
    return conn.execute(sa.text(sql), {"q": f'"{word}"'}).first() is not None


def vocabulary_matches(conn: Connection, spelt: Spellings) -> list[Candidate]:
    """Which of these spellings are words of the published articles. A word's spellings run to
    thousands: they are sifted against the vocabulary this process keeps in memory (`_vocabulary`),
    and only the few survivors are read from the table, with their counts (so a word no article uses
    any more drops out here)."""
    vocabulary = _vocabulary(conn)
    present = {v for v in spelt.exact if v in vocabulary.terms}
    present |= {t for b in spelt.bases for t in vocabulary.by_base.get(b, ())}
    present.discard(spelt.word)
    if not present:
        return []
    return [Candidate(t, d) for t, d in _counts(conn, present).items() if d > 0]


@dataclass
class _Vocabulary:
    terms: set[str] = field(default_factory=set)
    # "receive": ("received", "receives"); tuples, replaced rather than changed, so a search reading
    # one while another thread tops the vocabulary up never sees it change under it
    by_base: dict[str, tuple[str, ...]] = field(default_factory=dict)
    last_id: int = 0

    def add(self, term: str) -> None:
        self.terms.add(term)
        for base in ending_stems(term):
            self.by_base[base] = (*self.by_base.get(base, ()), term)


_vocabularies: weakref.WeakKeyDictionary[Engine, _Vocabulary] = weakref.WeakKeyDictionary()
_vocabulary_lock = threading.Lock()


def _vocabulary(conn: Connection) -> _Vocabulary:
    """Every word the published articles have used, as this process last read `kb_terms`, topped up
    on each call with the rows added since: their ids only grow (SQLite AUTOINCREMENT; on PostgreSQL
    a sequence, written under the index's advisory lock, so in commit order), so the top-up is one
    indexed read of the largest id, and of the new rows when there are any. Words deleted since may
    linger here; callers read the survivors' counts from the table. Ids that went backwards (the
    table emptied and its identity restarted) mean a full reload."""
    engine = conn.engine
    with _vocabulary_lock:
        known = _vocabularies.setdefault(engine, _Vocabulary())
        last = known.last_id
    top = conn.execute(sa.select(sa.func.max(kb_terms.c.id))).scalar() or 0
    if top == last:
        return known
    since = last if top > last else 0
    rows = conn.execute(sa.select(kb_terms.c.id, kb_terms.c.term).where(kb_terms.c.id > since)).all()
    with _vocabulary_lock:
        if since == 0:  # built whole, then swapped in
            known = _Vocabulary()
        for _, term in rows:
            if term not in known.terms:
                known.add(term)
        known.last_id = max([known.last_id, *(int(i) for i, _ in rows)])
        _vocabularies[engine] = known
        return known


def trigram_neighbours(conn: Connection, word: str) -> list[Candidate]:
    """The vocabulary's words sharing the most three-letter pieces with `word` (the trigram index on
    each store: FTS5's trigram tokenizer, pg_trgm), most shared first, then most used, then by
    spelling: the same candidates on both stores."""
    grams = trigrams(word)[:24]
    if not grams:
        return []
    params: dict[str, object] = {"n": TRIGRAM_CANDIDATES}
    if _postgres(conn):
        parts = [f"SELECT id FROM kb_terms WHERE term LIKE :g{i}" for i in range(len(grams))]
        params |= {f"g{i}": f"%{g}%" for i, g in enumerate(grams)}
    else:
        parts = [f"SELECT rowid AS id FROM native_kb_terms_trigram WHERE term MATCH :g{i}" for i in range(len(grams))]
        params |= {f"g{i}": f'"{g}"' for i, g in enumerate(grams)}
    sql = (
        "SELECT t.term, t.documents, count(*) AS shared FROM (" + " UNION ALL ".join(parts) + ") AS hit "
        "JOIN kb_terms t ON t.id = hit.id GROUP BY t.term, t.documents "
        "ORDER BY shared DESC, t.documents DESC, t.term LIMIT :n"
    )
    return [Candidate(t, d) for t, d, _ in conn.execute(sa.text(sql), params)]


def _fts5(plan: Plan) -> str:
    def alternative(words: tuple[str, ...]) -> str:
        return '"' + " ".join(words) + '"'

    optional = ["(" + " OR ".join(alternative(a) for a in clause) + ")" for clause in plan.clauses]
    if plan.prefix:
        optional.append(f'"{plan.prefix}"*')
    required = [alternative(p) for p in plan.phrases]
    if optional:
        required.append("(" + " OR ".join(optional) + ")")
    expression = " AND ".join(required)
    if plan.excluded:
        expression = f"({expression}) NOT (" + " OR ".join(f'"{w}"' for w in plan.excluded) + ")"
    return expression


def _tsquery_alternative(words: tuple[str, ...]) -> str:
    return "(" + " <-> ".join(f"'{w}'" for w in words) + ")"


def _tsquery_clause(clause: Alternatives) -> str:
    return "(" + " | ".join(_tsquery_alternative(a) for a in clause) + ")"


def _tsquery(plan: Plan) -> str:
    optional = [_tsquery_clause(c) for c in plan.clauses]
    if plan.prefix:
        optional.append(f"'{plan.prefix}':*")
    required = [_tsquery_alternative(p) for p in plan.phrases]
    if optional:
        required.append("(" + " | ".join(optional) + ")")
    expression = " & ".join(required)
    if plan.excluded:
        expression = f"({expression}) & !(" + " | ".join(f"'{w}'" for w in plan.excluded) + ")"
    return expression


def _filters(locale: str | None, category: str | None, params: dict[str, object]) -> str:
    where = ""
    if locale:
        where += " AND (d.locale = :locale OR d.locale LIKE :locale_prefix)"
        params |= {"locale": locale, "locale_prefix": f"{locale}-%"}
    if category:
        where += " AND d.category = :category"
        params["category"] = category
    return where


def match(
    conn: Connection, plan: Plan, config: str, *, locale: str | None, category: str | None, limit: int
) -> list[tuple[int, float]]:
    """The published articles that match, best first, with their score (higher is better)."""
    if not (plan.clauses or plan.phrases or plan.prefix):
        return []
    # With a phrase the loose words are required as a group (the phrase and at least one of them):
    # dropping the common ones could leave none that the phrase's articles hold, so all are kept.
    long = len(plan.clauses) > MAX_CLAUSES and not plan.phrases
    counts = _counts(conn, {w for g in _groups(plan) for w in g}) if long or _postgres(conn) else {}
    if long:
        plan = replace(plan, clauses=rarest(plan.clauses, counts, MAX_CLAUSES))
    params: dict[str, object] = {"n": limit}
    where = _filters(locale, category, params)
    if not _postgres(conn):
        params["q"] = _fts5(plan)
        weights = ", ".join(str(w) for w in WEIGHTS)
        sql = (
            f"SELECT d.article_id, bm25(native_kb_fts, {weights}) AS score FROM native_kb_fts "
            "JOIN kb_documents d ON d.article_id = native_kb_fts.rowid "
            f"WHERE native_kb_fts MATCH :q{where} ORDER BY score, d.article_id LIMIT :n"
        )
        return [(int(a), -float(s)) for a, s in conn.execute(sa.text(sql), params)]
    return _match_postgres(conn, plan, config, where, params, counts)


def _match_postgres(
    conn: Connection, plan: Plan, config: str, where: str, params: dict[str, object], counts: dict[str, int]
) -> list[tuple[int, float]]:
    """ts_rank knows no IDF: each clause's rank is weighted by how rare its words are, as bm25 does,
    so a rare word ("arrive") outranks a common one ("card") on both stores. No length normalisation
    (ts_rank's last argument 0): dividing by 1 + log(length) buried the long articles that hold many
    known questions under short ones that matched two words. bench/kb_search.py on PostgreSQL, 10,000
    articles: hit@1 0.544 with it, 0.784 without (77 articles: 0.796 and 0.801)."""
    parts = [_tsquery_clause(c) for c in plan.clauses] + ([f"'{plan.prefix}':*"] if plan.prefix else [])
    parts += [_tsquery_alternative(p) for p in plan.phrases]
    weights = _idf(conn, plan, counts)
    params |= {"c": config, "q": _tsquery(plan), "w": PG_WEIGHTS}
    rank = []
    for i, (part, weight) in enumerate(zip(parts, weights, strict=True)):
        params[f"q{i}"], params[f"i{i}"] = part, weight
        rank.append(f":i{i} * ts_rank(CAST(:w AS float4[]), s.document, {_once('to_tsquery', f'q{i}')}, 0)")
    joined = "JOIN kb_documents d ON d.article_id = s.article_id " if where else ""  # only the filters need it
    sql = (
        f"SELECT s.article_id, ({' + '.join(rank)}) AS score FROM native_kb_search s {joined}"
        f"WHERE s.document @@ {_once('to_tsquery', 'q')}{where} "
        "ORDER BY score DESC, s.article_id LIMIT :n"
    )
    return [(int(a), float(s)) for a, s in conn.execute(sa.text(sql), params)]


def _once(function: str, param: str) -> str:
    """A tsquery made once per execution, not once per row. `to_tsquery(CAST(:c AS regconfig), :q)`
    is only stable (the cast reads the search path), so where the planner cannot fold it (a generic
    plan, which psycopg's prepared statements get after five runs) it is made again for every row
    it is tested on and every `ts_rank`; and where it can (a custom plan) its estimates led the
    planner to test all 10,000 rows rather than use the GIN index. As a scalar subquery it is an
    InitPlan: made once, and the index condition. One five-word question at 10,000 articles: 22 ms
    in a generic plan, 13 ms in a custom one, 5-8 ms this way."""
    return f"(SELECT {function}(CAST(:c AS regconfig), :{param}))"


def rarest(clauses: tuple[Alternatives, ...], counts: dict[str, int], keep: int) -> tuple[Alternatives, ...]:
    """The `keep` clauses used by the fewest published articles (a clause counts as its most used
    word; a word the vocabulary does not hold as written counts as rare), in the question's order."""
    used = [max((counts.get(w, 0) for a in c for w in a), default=0) for c in clauses]
    kept = sorted(sorted(range(len(clauses)), key=lambda i: (used[i], i))[:keep])
    return tuple(clauses[i] for i in kept)


def _counts(conn: Connection, words: set[str]) -> dict[str, int]:
    """How many published articles use each of these words (as written)."""
    query = sa.select(kb_terms.c.term, kb_terms.c.documents).where(kb_terms.c.term.in_(words))
    return {term: documents for term, documents in conn.execute(query)}


def _groups(plan: Plan) -> list[list[str]]:
    """The words of each clause, then of the prefix and each phrase, as `_idf` weighs them."""
    groups = [[w for a in c for w in a] for c in plan.clauses]
    groups += [[plan.prefix]] if plan.prefix else []
    return groups + [list(p) for p in plan.phrases]


def _idf(conn: Connection, plan: Plan, counts: dict[str, int]) -> list[float]:
    """Each clause's inverse document frequency, from the vocabulary's counts (its most used word)."""
    total = conn.execute(sa.select(sa.func.count()).select_from(kb_documents)).scalar() or 0
    weights = []
    for group in _groups(plan):
        df = max((counts.get(w, 0) for w in group), default=0)
        weights.append(math.log(1 + (total - df + 0.5) / (df + 0.5)))
    return weights
