"""VADER's human-rated ground truth (Hutto & Gilbert, ICWSM 2014), read from its source archive.

The vaderSentiment 3.3.2 sdist carries `additional_resources/hutto_ICWSM_2014.tar.gz`, whose
`*_GroundTruth.txt` files give, per snippet, the mean of about twenty people's ratings on -4..4.
Where it is found, in order: the path given (the sdist, the inner archive or the unpacked folder),
$RAPPORT_VADER_SDIST, `../shared/data/vader/`, the user cache (~/.cache/rapport/), and last
`pip download` from the package index into that cache, checked against the archive's SHA-256.
Only the training command, the tests and the bench read it: the running server never does.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

SDIST = "vaderSentiment-3.3.2.tar.gz"
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
FILES = ("tweets", "amazonReviewSnippets", "movieReviewSnippets", "nytEditorialSnippets")
NEUTRAL_BAND = 0.5  # a human mean within ±0.5 on -4..4 is neutral for the 3-class accuracy


@dataclass(frozen=True)
class Snippet:
    text: str
    mean: float  # -4..4

    @property
    def sentiment(self) -> str:
        if self.mean <= -NEUTRAL_BAND:
            return "negative"
        if self.mean >= NEUTRAL_BAND:
            return "positive"
        return "neutral"


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rapport"


def _candidates(given: Path | None) -> list[Path]:
    here = Path(__file__).resolve().parents[3]  # the repository root, in a checkout
    paths = [given] if given else []
    if os.environ.get("RAPPORT_VADER_SDIST"):
        paths.append(Path(os.environ["RAPPORT_VADER_SDIST"]))
    paths += [here.parent / "shared" / "data" / "vader" / SDIST, _cache_dir() / SDIST]
    return [p for p in paths if p is not None]


def _verified(path: Path) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise ValueError(f"{path} is not the vaderSentiment 3.3.2 source archive (sha256 {digest})")
    return path


def download() -> Path:
    """Fetch the sdist from the package index into the user cache (pip, as any dependency is)."""
    target = _cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--quiet"]
        + ["vaderSentiment==3.3.2", "-d", str(target)],
        check=True,
    )
    return _verified(target / SDIST)


def locate(given: Path | None = None, fetch: bool = True) -> Path:
    for path in _candidates(given):
        if path.exists():
            return _verified(path) if path.name == SDIST else path
    if given is not None:
        raise FileNotFoundError(f"no VADER ground truth at {given}")
    if not fetch:
        raise FileNotFoundError(f"no {SDIST} in {[str(p) for p in _candidates(None)]}")
    return download()


def _inner_files(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.rglob("*_GroundTruth.txt")}
    with tarfile.open(path) as outer:
        names = outer.getnames()
        inner_name = next((n for n in names if n.endswith("hutto_ICWSM_2014.tar.gz")), None)
        if inner_name is None:  # the inner archive itself
            return {
                Path(m.name).name: outer.extractfile(m).read()  # type: ignore[union-attr]
                for m in outer.getmembers()
                if m.name.endswith("_GroundTruth.txt")
            }
        inner_bytes = outer.extractfile(inner_name).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        return {
            Path(m.name).name: inner.extractfile(m).read()  # type: ignore[union-attr]
            for m in inner.getmembers()
            if m.name.endswith("_GroundTruth.txt")
        }


def load(path: Path | None = None, fetch: bool = True) -> dict[str, list[Snippet]]:
    """Every ground-truth file by its short name (tweets, amazonReviewSnippets, ...)."""
    raw = _inner_files(locate(path, fetch))
    out: dict[str, list[Snippet]] = {}
    for name in FILES:
        content = raw[f"{name}_GroundTruth.txt"].decode("utf-8", errors="replace")
        rows = []
        for line in content.splitlines():
            parts = line.split("\t", 2)
            if len(parts) == 3 and parts[2].strip():
                rows.append(Snippet(text=parts[2].strip(), mean=float(parts[1])))
        out[name] = rows
    return out
