"""The pure rules of social listening: which mentions need service (a rule anyone can read), handles
as the graph keys them, and proof codes."""

from __future__ import annotations

import pytest

from rapport.service import influence, social_model
from rapport.service.social_model import SocialRuleError, codes_in, needs_service, new_code, normalize_handle


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("Where is my parcel?", True),
        ("My parcel is late", True),
        ("Payment failed again", True),
        ("The app is down", True),
        ("I want a refund", True),
        ("Check out the latest lamp", False),  # whole words only
        ("Great lamps, thank you", False),
        ("Downloaded the catalogue", False),
    ],
)
def test_which_mentions_need_service(text, needed):
    verdict = needs_service(text)
    assert verdict.needs_service is needed and verdict.reason


def test_an_explicit_flag_wins():
    assert needs_service("Where is it?", False).needs_service is False
    assert needs_service("Lovely", True).needs_service is True


def test_handles_are_normalized_and_bad_ones_refused():
    assert normalize_handle("x", "  @Ada_L ") == "ada_l"
    for network, handle in (("myspace", "a"), ("x", ""), ("x", "@"), ("x", "two words"), ("x", "a" * 201)):
        with pytest.raises(SocialRuleError):
            normalize_handle(network, handle)
    assert social_model.NETWORKS == influence.NETWORKS  # one list, two modules that cannot share it


def test_codes_are_found_in_text_whatever_the_case():
    code = new_code()
    assert codes_in(f"verifying {code.lower()} now") == [code]
    assert codes_in("RAPPORT-0000OOOO") == []  # not of the alphabet
    assert len({new_code() for _ in range(100)}) == 100
