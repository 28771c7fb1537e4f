"""Social listening, the pure rules: a handle as the graph keys it, whether a mention needs service,
and the one-time codes a customer posts to prove a handle is theirs.

Whether a mention needs service is a rule anyone can read, not a model: an explicit `needs_service`
wins; else a question mark, or one of the complaint words below, makes it a case. The reason is kept
with the mention, so staff see why it became a case (or why not).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from rapport.kernel.rules import RuleError

NETWORKS = ("twitter", "x", "facebook", "instagram", "linkedin", "tiktok", "youtube", "mastodon", "bluesky", "other")
MAX_HANDLE = 200
MAX_MENTION_TEXT = 10_000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from a screen
CODE_LENGTH = 8
CODE_PREFIX = "RAPPORT-"
CODE = re.compile(r"RAPPORT-([" + CODE_ALPHABET + r"]{" + str(CODE_LENGTH) + r"})", re.IGNORECASE)
_HANDLE = re.compile(r"^[\w.@:/-]{1,200}$")
COMPLAINT_WORDS = (
    "broken", "refund", "not working", "doesn't work", "does not work", "never arrived", "still waiting",
    "complaint", "complain", "complaining", "terrible", "awful", "worst", "disappointed", "disappointing", "useless",
    "scam", "cancel", "charged twice", "overcharged", "wrong", "damaged", "help", "problem", "issue", "error",
    "fail", "failed", "fails", "failing", "late", "missing", "lost", "down",
)  # fmt: skip
# Whole words only: "late" is a complaint, "latest" is not.
_WORDS = re.compile(r"\b(" + "|".join(re.escape(w) for w in COMPLAINT_WORDS) + r")\b", re.IGNORECASE)


class SocialRuleError(RuleError):
    pass


def normalize_handle(network: str, handle: str) -> str:
    """A handle as the graph keys it: without a leading @, lower case (networks' handles ignore case)."""
    if network not in NETWORKS:
        raise SocialRuleError("invalid_network", f"network must be one of {', '.join(NETWORKS)}")
    text = handle.strip().lstrip("@").lower() if isinstance(handle, str) else ""
    if not text or len(text) > MAX_HANDLE or not _HANDLE.fullmatch(text):
        raise SocialRuleError("invalid_handle", "a handle is 1 to 200 letters, digits and . _ - @ : /, no spaces")
    return text


def identifier_key(network: str, handle: str) -> str:
    """The identity graph's key of a proven handle. Its type, `social`, is one no event can carry
    (identity.model.extract_identifiers never makes it), so a browser cannot claim it onto anyone."""
    return f"social:{network}:{handle}"


@dataclass(frozen=True)
class Verdict:
    needs_service: bool
    reason: str


def needs_service(text: str, flag: bool | None = None) -> Verdict:
    """Whether a mention asks for service: a complaint or a question."""
    if flag is not None:
        return Verdict(flag, "marked needs_service" if flag else "marked as needing no service")
    if "?" in text:
        return Verdict(True, "asks a question (a question mark)")
    found = _WORDS.search(text)
    if found:
        return Verdict(True, f"a complaint word: {found.group(1).lower()!r}")
    return Verdict(False, "no question mark and no complaint word")


def new_code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def codes_in(text: str) -> list[str]:
    """The proof codes a mention carries, as issued (upper case)."""
    return sorted({CODE_PREFIX + m.upper() for m in CODE.findall(text)})


def subject_of(handle: str, network: str, text: str) -> str:
    first = " ".join(text.split())[:120]
    return f"@{handle} on {network}: {first}"[:300]
