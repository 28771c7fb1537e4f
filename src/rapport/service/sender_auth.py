"""Whether a mail's `From:` was authenticated by the mail server in front of Rapport.

Anyone can write any address into `From:`. The receiving mail server (Postfix with OpenDMARC, Exim,
a cloud gateway) checks SPF, DKIM and DMARC and records what it found in an `Authentication-Results`
header (RFC 8601) named by its authserv-id, after removing any header of that name a sender forged.
With `RAPPORT_INBOUND_AUTHSERV_ID` set to that id, Rapport reads the topmost such header and decides:

- `pass`: DMARC passed for the From domain, or DKIM passed (or SPF passed) for a domain aligned
  with it (the same domain, or its organisational parent as the mail's domain ends with it);
- `fail`: anything else, including no header from that server (the mail did not come through it).
  Such a mail joins no case and no profile of the address it names: it opens a case of its own, on a
  profile of its own, and its history says why;
- `unchecked`: no authserv-id is configured (the default, as before): the address is taken as
  written, and only an address asserted on a profile joins that profile (service/requester.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

PASS, FAIL, UNCHECKED = "pass", "fail", "unchecked"

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9][a-z0-9._-]*)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header|smtp)\.([a-z0-9_-]+)\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    status: str  # pass | fail | unchecked
    detail: str  # in words, for the case's history


@dataclass(frozen=True)
class Result:
    method: str  # dmarc, dkim, spf, ...
    result: str  # pass, fail, none, ...
    properties: dict[str, str]  # header.from, header.d, smtp.mailfrom, ... (lower case)


def parse(value: str) -> tuple[str, list[Result]]:
    """An Authentication-Results header's authserv-id and its results (comments dropped)."""
    text = value
    for _ in range(5):  # nested comments, innermost first
        text = _COMMENT.sub(" ", text)
    head, _sep, rest = text.partition(";")
    authserv = head.strip().split()[0].lower() if head.strip() else ""
    results = []
    for part in rest.split(";"):
        found = _RESULT.match(part)
        if not found:
            continue
        props = {f"{k.lower()}.{p.lower()}": v.lower().rstrip(".") for k, p, v in _PROPERTY.findall(part)}
        results.append(Result(found.group(1).lower(), found.group(2).lower(), props))
    return authserv, results


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().lower().rstrip(".")


def aligned(sender_domain: str, other: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    other = _domain(other)
    if "." not in other or not sender_domain:  # never a bare top-level domain
        return False
    return sender_domain == other or sender_domain.endswith("." + other) or other.endswith("." + sender_domain)


def verdict(sender: str, headers: Sequence[str], authserv_id: str | None) -> Verdict:
    """What the trusted server said of `sender` (a normalized address), from the mail's
    Authentication-Results headers, topmost first."""
    if not authserv_id:
        return Verdict(UNCHECKED, "sender not checked (no RAPPORT_INBOUND_AUTHSERV_ID)")
    trusted = authserv_id.strip().lower()
    ours = [results for server, results in map(parse, headers) if server == trusted]
    if not ours:
        return Verdict(FAIL, f"no Authentication-Results from {trusted}: the mail did not come through it")
    domain = _domain(sender)
    seen = []
    for r in ours[0]:
        seen.append(f"{r.method}={r.result}")
        if r.result != "pass":
            continue
        if r.method == "dmarc" and aligned(domain, r.properties.get("header.from", domain)):
            return Verdict(PASS, f"sender authenticated by {trusted}: dmarc=pass")
        if r.method == "dkim" and aligned(domain, r.properties.get("header.d", r.properties.get("header.i", ""))):
            return Verdict(PASS, f"sender authenticated by {trusted}: dkim=pass for {domain}")
        if r.method == "spf" and aligned(domain, r.properties.get("smtp.mailfrom", "")):
            return Verdict(PASS, f"sender authenticated by {trusted}: spf=pass for {domain}")
    found = ", ".join(seen) or "no results"
    return Verdict(FAIL, f"sender not authenticated by {trusted} ({found}) for {domain}")
