"""Whom a rejected message is about, by parsed and normalized identifiers, never by a substring.

A dead letter holds no profile link, so export and erasure find a person's by the identifiers in
it: emails case-insensitively, user and anonymous ids exactly, phone numbers in any format (by their
digits, which the person's numbers are compared with in each way they can be written). A name is no
identifier: "Ada" must not find the message that says "Canada". Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from rapport.identity.model import normalize_email

ID_KEYS = {"userId": "user_id", "anonymousId": "anonymous_id"}
PHONE_DIGITS = "phone_digits"
_EMAILS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE_TEXT = re.compile(r"^\+?[\d\s().-]{7,24}$")
MOST_KEYS = 64  # a huge dead letter still names at most this many people's identifiers
MAX_KEY = 400


def subject_keys(payload: str) -> set[str]:
    """The identifier keys a dead letter's payload names, as `type:value` (phones as their digits)."""
    try:
        document: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        document = payload  # not JSON (a body that could not be read): its text is still searched
    keys: set[str] = set()
    for key in _keys(document, None):
        if len(key) <= MAX_KEY:
            keys.add(key)
        if len(keys) >= MOST_KEYS:
            break
    return keys


def _keys(value: Any, name: str | None) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _keys(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, name)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield from _keys_of_value(str(value), name)


def _keys_of_value(text: str, name: str | None) -> Iterator[str]:
    if name in ID_KEYS and text.strip():
        yield f"{ID_KEYS[name]}:{text.strip()}"
    for found in _EMAILS.findall(text):
        if email := normalize_email(found):
            yield f"email:{email}"
    if _PHONE_TEXT.match(text.strip()) and (name is None or "phone" in name.lower() or text.strip().startswith("+")):
        digits = re.sub(r"\D", "", text)
        if 7 <= len(digits) <= 15:
            yield f"{PHONE_DIGITS}:{digits}"


def person_keys(identifier_keys: Iterable[str]) -> list[str]:
    """The keys a person's dead letters are filed under: their identifiers, and for each phone number
    (+CC NATIONAL) the digits it is written with: full, national, and national after a trunk 0."""
    keys = set(identifier_keys)
    for key in list(keys):
        kind, _, value = key.partition(":")
        if kind == "phone" and value.startswith("+"):
            keys.update(f"{PHONE_DIGITS}:{d}" for d in _phone_spellings(value))
    return sorted(keys)


def _phone_spellings(e164: str) -> set[str]:
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return set()
    national = str(number.national_number)
    return {e164[1:], national, "0" + national, f"00{e164[1:]}"}
