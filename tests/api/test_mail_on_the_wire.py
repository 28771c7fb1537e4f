"""Mail as receivers read it: the raw bytes the SMTP server got, not the email package's reading of
them (which hides its own encoding). List-Unsubscribe as RFC 2369 URLs, headers nobody can inject,
and a DKIM signature a receiver verifies over both unsubscribe headers."""

from __future__ import annotations

import base64
import re

import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from fastapi.testclient import TestClient

from factories import profile_by, send_batch, settled_history
from rapport.app import create_app
from rapport.db.engine import open_database
from rapport.kernel.mail import MailError, build_email
from rapport.settings import load_settings

EMAIL = "iris@example.com"


def _customer_with_marketing_consent(client, make_source, headers) -> str:
    shop = make_source("store", name="shop")  # server trust: mail goes only to an asserted address
    send_batch(client, shop, [{"type": "identify", "userId": "iris", "traits": {"email": EMAIL}}])
    pid = profile_by(client, headers, "user_id:iris")["id"]
    consent = {"purpose": "marketing", "channel": "email", "status": "granted", "source": "newsletter form"}
    assert client.post(f"/api/v1/profiles/{pid}/consents", json=consent, headers=headers).status_code == 201
    return str(pid)


def _send(client, headers, pid, subject="Spring sale"):
    body = {"profile_id": pid, "purpose": "marketing", "subject": subject, "text": "Hello!"}
    return client.post("/api/v1/messages", json=body, headers=headers)


def _header(raw: bytes, name: str) -> bytes:
    """One header exactly as on the wire, folds included."""
    found = re.search(rb"^" + name.encode() + rb":(.*?)\r\n(?![ \t])", raw, re.M | re.S | re.I)
    assert found, f"no {name} header in {raw[:300]!r}"
    return found.group(1)


def test_list_unsubscribe_is_two_urls_in_angle_brackets_on_the_wire(client, make_source, admin_headers, smtp):
    pid = _customer_with_marketing_consent(client, make_source, admin_headers)
    assert _send(client, admin_headers, pid).json()["status"] == "queued"
    assert settled_history(client, admin_headers, pid)[0]["status"] == "sent"
    value = _header(smtp.raw[-1], "List-Unsubscribe")
    assert b"=?" not in value, "RFC 2047 encoded words are not URLs to a receiver"
    urls = re.findall(rb"<([^<>\s]+)>", value)
    assert [u.split(b":", 1)[0] for u in urls] == [b"http", b"mailto"]
    assert re.fullmatch(rb" <[^<>\s]+>,(\r\n)? <[^<>\s]+>", value), value  # folded only between the two
    assert _header(smtp.raw[-1], "List-Unsubscribe-Post") == b" List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "subject",
    [
        "Sale\r\nBcc: everyone@example.com",
        "Sale\nBcc: x@example.com",
        "Sale\x00",
        "=?utf-8?q?Sale=0D=0ABcc:_x@example.com?=",  # decodes to a line break in some receivers
    ],
)
def test_a_subject_that_could_forge_a_header_is_a_400(client, make_source, admin_headers, smtp, subject):
    pid = _customer_with_marketing_consent(client, make_source, admin_headers)
    res = _send(client, admin_headers, pid, subject)
    assert res.status_code == 400 and res.json()["code"] in ("invalid_subject", "invalid_request"), res.text
    assert smtp.raw == []


@pytest.mark.parametrize("to", ["Eve <eve@example.com>", "ada@example.com\r\nBcc: eve@example.com", "(c)a@example.com"])
def test_only_plain_addresses_are_written_into_to(to):
    with pytest.raises(MailError):
        build_email(sender="R <r@x.example>", to=to, subject="s", text="t", unsubscribe_url=None, unsubscribe_mailto="")


def test_mail_is_dkim_signed_over_both_unsubscribe_headers(database_url, make_source, admin_token, smtp, tmp_path):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = tmp_path / "dkim.pem"
    key.write_bytes(
        private.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())  # as openssl genrsa
    )
    public = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    settings = load_settings(
        database_url=database_url,
        processor="thread",
        smtp_url=smtp.url,
        mail_from="Rapport <news@shop.example>",
        dkim_selector="mail2026",
        dkim_domain="shop.example",
        dkim_private_key_file=str(key),
    )
    headers = {"Authorization": f"Bearer {admin_token}"}
    signing_db = open_database(settings)
    try:
        with TestClient(create_app(settings, signing_db)) as client:
            pid = _customer_with_marketing_consent(client, make_source, headers)
            assert _send(client, headers, pid).json()["status"] == "queued"
            assert settled_history(client, headers, pid)[0]["status"] == "sent"  # signed by this app's worker
    finally:
        signing_db.dispose()
    raw = smtp.raw[-1]
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"mail2026._domainkey.shop.example." else b""

    assert dkim.verify(raw, dnsfunc=dns), "a receiver could not verify the signature"
    fields = _header(raw, "DKIM-Signature").decode().split(";")
    signed = dict(part.strip().split("=", 1) for part in fields if "=" in part)
    covered = {h.strip().lower() for h in signed["h"].replace("\r\n", "").split(":")}
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= covered
    assert not dkim.verify(raw.replace(b"Spring sale", b"Spring SALE"), dnsfunc=dns), "tampering goes unnoticed"


@pytest.mark.parametrize(
    "given",
    [
        {"dkim_selector": "s1"},  # one of the three
        {"dkim_selector": "s1", "dkim_domain": "shop.example", "dkim_private_key_file": "/nonexistent/dkim.pem"},
    ],
)
def test_an_incomplete_or_missing_dkim_key_stops_start_up_with_the_variables_named(given):
    from rapport.settings import SettingsError

    with pytest.raises(SettingsError, match="DKIM"):
        load_settings(**given)
