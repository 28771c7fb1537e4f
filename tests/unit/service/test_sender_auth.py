"""Reading the mail server's Authentication-Results (RFC 8601) for the From address."""

from __future__ import annotations

import pytest

from rapport.service.sender_auth import FAIL, PASS, UNCHECKED, aligned, parse, verdict

MX = "mx.shop.example"


def test_parse_reads_the_server_results_and_properties_past_comments():
    server, results = parse(
        "mx.shop.example 1; (a comment; with a semicolon) dkim=pass (good signature) header.d=Example.com "
        "header.s=sel; spf=softfail smtp.mailfrom=bounce@other.example; dmarc=pass header.from=example.com"
    )
    assert server == MX
    assert [(r.method, r.result) for r in results] == [("dkim", "pass"), ("spf", "softfail"), ("dmarc", "pass")]
    assert results[0].properties["header.d"] == "example.com"
    assert results[1].properties["smtp.mailfrom"] == "bounce@other.example"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (f"{MX}; dmarc=pass header.from=example.com", PASS),
        (f"{MX}; dkim=pass header.d=example.com", PASS),
        (f"{MX}; dkim=pass header.d=mail.example.com", PASS),  # relaxed alignment
        (f"{MX}; spf=pass smtp.mailfrom=bounces@example.com", PASS),
        (f"{MX}; dmarc=fail header.from=example.com", FAIL),
        (f"{MX}; dkim=pass header.d=evil.example", FAIL),  # signed, but by someone else
        (f"{MX}; spf=pass smtp.mailfrom=eve@evil.example", FAIL),
        (f"{MX}; dkim=pass header.d=com", FAIL),  # never a bare top-level domain
        (f"{MX}; dmarc=pass header.from=evil.example", FAIL),
        (f"{MX}; none", FAIL),
        ("mx.evil.example; dmarc=pass header.from=example.com", FAIL),  # another server's word
        ("", FAIL),
    ],
)
def test_only_the_trusted_server_vouching_for_the_from_domain_passes(header, status):
    assert verdict("ada@example.com", [header], MX).status == status


def test_only_the_topmost_header_of_the_trusted_server_counts():
    ours = f"{MX}; dmarc=fail header.from=example.com"
    forged_below = f"{MX}; dmarc=pass header.from=example.com"
    assert verdict("ada@example.com", [ours, forged_below], MX).status == FAIL
    assert verdict("ada@example.com", ["other; dmarc=fail", forged_below], MX.upper()).status == PASS


def test_without_a_configured_server_nothing_is_checked():
    assert verdict("ada@example.com", [f"{MX}; dmarc=fail"], None).status == UNCHECKED
    assert "no Authentication-Results" in verdict("ada@example.com", [], MX).detail


def test_alignment():
    assert aligned("example.com", "example.com") and aligned("a.example.com", "example.com")
    assert not aligned("example.com", "badexample.com") and not aligned("example.com", "")
