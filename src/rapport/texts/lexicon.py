"""The lexical sentiment model: VADER's human-rated word list, scored by rules in its spirit.

It needs nothing but the standard library, so Rapport can say what a text feels like where the model
stack (torch, the MiniLM encoder) is not installed, and its features feed the learned model where it is.
The word list is VADER's (Hutto & Gilbert, ICWSM 2014; MIT licence, `data/VADER_LICENSE.txt`), kept to
its word and mean rating. The rules are a compact reading of the paper's: negation in the three words
before, degree adverbs, "but" shifting the weight to what follows, emphasis in capitals and "!".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEXICON_FILE = Path(__file__).parent / "data" / "vader_lexicon.tsv"

_BOOST = 0.293
_CAPS = 0.733
_NEGATION_SCALE = -0.74
_NEGATIONS = frozenset(
    [
        "aint",
        "arent",
        "cannot",
        "cant",
        "couldnt",
        "darent",
        "didnt",
        "doesnt",
        "dont",
        "hadnt",
        "hasnt",
        "havent",
        "isnt",
        "mightnt",
        "mustnt",
        "neither",
        "neednt",
        "never",
        "none",
        "nope",
        "nor",
        "not",
        "nothing",
        "nowhere",
        "oughtnt",
        "shant",
        "shouldnt",
        "uhuh",
        "wasnt",
        "werent",
        "without",
        "wont",
        "wouldnt",
        "rarely",
        "seldom",
        "despite",
        "no",
    ]
)
_BOOSTERS = frozenset(
    [
        "absolutely",
        "amazingly",
        "awfully",
        "completely",
        "considerable",
        "considerably",
        "decidedly",
        "deeply",
        "enormous",
        "enormously",
        "entirely",
        "especially",
        "exceptional",
        "exceptionally",
        "extreme",
        "extremely",
        "fabulously",
        "fully",
        "greatly",
        "highly",
        "hugely",
        "incredible",
        "incredibly",
        "intensely",
        "majorly",
        "more",
        "most",
        "particularly",
        "purely",
        "quite",
        "really",
        "remarkably",
        "so",
        "substantially",
        "thoroughly",
        "total",
        "totally",
        "tremendous",
        "tremendously",
        "unbelievably",
        "unusually",
        "utter",
        "utterly",
        "very",
    ]
)
_DAMPENERS = frozenset(
    [
        "almost",
        "barely",
        "hardly",
        "kinda",
        "less",
        "little",
        "marginal",
        "marginally",
        "occasional",
        "occasionally",
        "partly",
        "scarce",
        "scarcely",
        "slight",
        "slightly",
        "somewhat",
        "sorta",
    ]
)
_TOKEN = re.compile(r"\S+")
_CLAUSE_END = re.compile(r"[.!?;]")
_EDGE = re.compile(r"^[^\w:;=<>()\[\]\\/|-]+|[^\w:;=<>()\[\]\\/|-]+$")


@dataclass(frozen=True)
class LexicalScore:
    compound: float  # -1..1
    positive: float  # shares of the text's sentiment mass, 0..1
    negative: float
    neutral: float
    matched: int  # words found in the lexicon


@cache
def lexicon() -> dict[str, float]:
    words: dict[str, float] = {}
    for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition("\t")
        if word and value:
            words[word] = float(value)
    return words


def _words(text: str) -> tuple[list[str], list[bool]]:
    """The words, and for each whether it ends a sentence or clause (negation and degree words do not
    reach across one: "It never came. Very disappointed." is not "not disappointed", as VADER reads it)."""
    words, ends = [], []
    for raw in _TOKEN.findall(text):
        stripped = _EDGE.sub("", raw)
        word = stripped if len(stripped) > 1 or stripped.isalnum() else raw
        if word:
            words.append(word)
            ends.append(word != raw and bool(_CLAUSE_END.search(raw[len(raw.rstrip(".!?;,")) :] or "")))
    return words, ends


def _bare(word: str) -> str:
    return word.lower().replace("'", "").replace("\u2019", "")


def _valence(words: list[str], ends: list[bool], i: int, shouting: bool, table: dict[str, float]) -> float:
    word = words[i]
    value = table.get(word.lower(), 0.0)
    if value == 0.0:
        return 0.0
    if shouting and word.isupper() and word.isalpha():
        value += _CAPS if value > 0 else -_CAPS
    for distance in (1, 2, 3):
        if i - distance < 0 or ends[i - distance]:
            break
        before = _bare(words[i - distance])
        decay = 1.0 - 0.05 * (distance - 1)
        if before in _BOOSTERS:
            value += (_BOOST if value > 0 else -_BOOST) * decay
        elif before in _DAMPENERS:
            value -= (_BOOST if value > 0 else -_BOOST) * decay
        if before in _NEGATIONS or before.endswith("nt") and before[:-2] in {"do", "does", "did", "is"}:
            value *= _NEGATION_SCALE
    return value


def score(text: str) -> LexicalScore:
    """Score one text: compound in -1..1 (VADER's normalisation of the summed valences)."""
    table = lexicon()
    words, ends = _words(text)
    lowered = [w.lower() for w in words]
    shouting = any(w.isupper() for w in words) and not all(w.isupper() for w in words if w.isalpha())
    valences = [_valence(words, ends, i, shouting, table) for i in range(len(words))]
    if "but" in lowered:
        pivot = lowered.index("but")
        valences = [v * (0.5 if i < pivot else 1.5) for i, v in enumerate(valences)]
    total = sum(valences)
    if total:
        emphasis = min(text.count("!"), 4) * 0.292
        total += emphasis if total > 0 else -emphasis
    compound = total / math.sqrt(total * total + 15) if total else 0.0
    positive = sum(v + 1 for v in valences if v > 0)
    negative = sum(1 - v for v in valences if v < 0)
    neutral = sum(1 for v in valences if v == 0)
    mass = (positive + negative + neutral) or 1.0
    return LexicalScore(
        compound=max(-1.0, min(1.0, compound)),
        positive=positive / mass,
        negative=negative / mass,
        neutral=neutral / mass,
        matched=sum(1 for v in valences if v),
    )
