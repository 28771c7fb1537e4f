"""Whether a customer's message is negative enough to hand the conversation to a person.

`rapport.texts` (sentiment and topics) is not in this branch yet: until it is, a small internal
rule decides, `internal_negative_rule`: words of frustration or anger a customer uses about the
service. It is deliberately narrow (a question about a stolen card is worried, not angry at us).
"""

from __future__ import annotations

import re

_FRUSTRATED = re.compile(
    r"\b(useless|ridiculous|terrible|awful|horrible|appalling|disgusting|unacceptable|pathetic|rubbish|"
    r"worst|hate|hopeless|furious|angry|livid|outraged|scam|scammers|fed up|sick of|sick and tired|"
    r"waste of (my )?time|joke of a|incompetent|shocking service|disgraceful|stupid bot|dumb bot)\b",
    re.IGNORECASE,
)


def internal_negative_rule(text: str) -> bool:
    return bool(_FRUSTRATED.search(text))


def is_negative(text: str) -> bool:
    return internal_negative_rule(text)
