"""Finding the token of an unsubscribe request in the mail a client sent to the `mailto:` address."""

from __future__ import annotations

from email.message import EmailMessage

from rapport.consent.unsubscribe import token_in_mail

TOKEN = "WyJhYmMiLCJtYXJrZXRpbmciXQ.Xy-9_sig"


def mail(subject: str | None, body: str = "", html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["To"] = "unsubscribe@shop.example"
    if subject is not None:
        msg["Subject"] = subject
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def test_the_token_is_read_from_the_subject_whatever_the_case_or_a_reply_prefix():
    assert token_in_mail(mail(f"unsubscribe {TOKEN}")) == TOKEN
    assert token_in_mail(mail(f"Re: Unsubscribe  {TOKEN}.")) == TOKEN  # a sentence's full stop is not part of it


def test_a_client_that_drops_the_subject_leaves_the_token_in_the_plain_body():
    assert token_in_mail(mail(None, f"unsubscribe {TOKEN}\n", html="<p>unsubscribe</p>")) == TOKEN


def test_a_compressed_token_keeps_its_leading_dot():
    assert token_in_mail(mail(f"unsubscribe .eJyLVkpKTFKqBQ.{TOKEN[-7:]}")) == f".eJyLVkpKTFKqBQ.{TOKEN[-7:]}"


def test_a_mail_that_asks_nothing_has_no_token():
    assert token_in_mail(mail("Question about my order", "Please unsubscribe me")) is None
    assert token_in_mail(b"\xff\xfe not a mail at all") is None
