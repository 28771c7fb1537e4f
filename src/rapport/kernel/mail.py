"""Email over real SMTP (RAPPORT_SMTP_URL), with RFC 2369 / RFC 8058 unsubscribe headers and, when
configured, a DKIM signature over them.

What receivers read is the bytes on the wire, so the unsubscribe header is written as RFC 2369 says
(URLs in angle brackets, folded only between them): left to the email package, a long one is
re-encoded as RFC 2047 words, which no receiver reads as URLs. Text that would end up in a header is
refused here if it could break out of it (a line break, a control character, an encoded word).
"""

from __future__ import annotations

import re
import smtplib
import unicodedata
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from rapport.settings import Settings

# Headers set from the source are written as given (the unsubscribe header is set raw, pre-folded);
# headers set by value are still folded by the policy.
MAIL_POLICY = policy.SMTP.clone(refold_source="none")
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bqBQ]\?")
MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,245}>")  # one msg-id: printable ASCII but the brackets, in brackets
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe", b"list-unsubscribe-post")


class MailError(Exception):
    """The mail was not taken; `code` is the SMTP server's reply code when it gave one (4xx: try again
    later, 5xx: never), None when there was no reply (refused, reset, timed out) or no server involved."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Dkim:
    """Signs outbound mail as `domain` with the key published at `selector`._domainkey.`domain`."""

    selector: str
    domain: str
    private_key: bytes


@cache
def _key(path: Path) -> bytes:
    return path.read_bytes()


def dkim_of(settings: Settings) -> Dkim | None:
    """The DKIM signer the settings configure, or None (the key file is read once)."""
    if not (settings.dkim_selector and settings.dkim_domain and settings.dkim_private_key_file):
        return None
    return Dkim(settings.dkim_selector, settings.dkim_domain, _key(settings.dkim_private_key_file))


def header_text_problem(text: str) -> str | None:
    """Why this text may not go into a header, or None: a control character (a line break among them)
    could start a header of its own, and an encoded word could decode to one in the receiver."""
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "holds a line break or another control character"
    if ENCODED_WORD.search(text):
        return "holds an RFC 2047 encoded word (=?charset?q?...?=)"
    return None


def message_id_problem(text: str) -> str | None:
    """Why this may not be written into In-Reply-To or References as a Message-ID, or None: only
    one well-formed `<...>` of printable ASCII, so no line break, space or encoded word can ride in."""
    if problem := header_text_problem(text):
        return problem
    if not MESSAGE_ID.fullmatch(text):
        return "is not one Message-ID of printable ASCII in angle brackets"
    return None


def plain_address(address: str) -> bool:
    """An address in plain form only: local@domain, no name, comment, group or angle brackets."""
    return PLAIN_ADDRESS.fullmatch(address) is not None


def new_message_id(sender: str) -> str:
    """A Message-ID in the sender's domain. Made once per message and kept, so that a mail sent again
    (its first attempt's answer was lost) can be recognized by receivers as the same one."""
    return make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or "localhost")


def build_email(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    unsubscribe_url: str | None,
    unsubscribe_mailto: str | None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> EmailMessage:
    if not plain_address(to):
        raise MailError(f"refused to write {to!r} into To: only plain addresses are sent to")
    if problem := header_text_problem(subject):
        raise MailError(f"refused a subject that {problem}")
    for thread_id in (*([in_reply_to] if in_reply_to else []), *references):
        if problem := message_id_problem(thread_id):
            raise MailError(f"refused a threading Message-ID {thread_id!r} that {problem}")
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = formataddr(("", to))
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or new_message_id(sender)
    # Set raw, as checked above (left to the policy, a long one could be re-encoded as an RFC 2047
    # word, which no client reads as a Message-ID); References folds only between its ids.
    if in_reply_to:
        msg.set_raw("In-Reply-To", in_reply_to)
    if references:
        msg.set_raw("References", "\r\n ".join(references))
    body = text
    if unsubscribe_url:
        links = [f"<{unsubscribe_url}>"] + ([f"<{unsubscribe_mailto}>"] if unsubscribe_mailto else [])
        msg.set_raw("List-Unsubscribe", ",\r\n ".join(links))
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body += f"\n\n--\nTo stop these emails, unsubscribe here: {unsubscribe_url}\n"
    msg.set_content(body)
    return msg


def signed_bytes(msg: EmailMessage, dkim: Dkim | None) -> bytes:
    """The message as sent, with a DKIM-Signature over From, To, Subject and both unsubscribe headers
    when a key is configured (RFC 8058 asks that the signature cover them)."""
    raw = msg.as_bytes()
    if dkim is None:
        return raw
    import dkim as dkimpy  # only when signing is configured

    present = [h for h in SIGNED_HEADERS if msg.get(h.decode()) is not None]
    signature = dkimpy.sign(
        raw, dkim.selector.encode(), dkim.domain.encode(), dkim.private_key, include_headers=present
    )
    return bytes(signature) + raw


def send_email(smtp_url: str, msg: EmailMessage, timeout: float = 10.0, dkim: Dkim | None = None) -> None:
    """Deliver through the SMTP server named by a URL: smtp://[user:pass@]host:port, smtps://, smtp+starttls://.
    `timeout` bounds each wait for the server, not the whole conversation."""
    parts = urlsplit(smtp_url)
    host, port = parts.hostname or "localhost", parts.port
    client: smtplib.SMTP | None = None
    try:
        raw = signed_bytes(msg, dkim)
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, port or 465, timeout=timeout)
        else:
            client = smtplib.SMTP(host, port or 25, timeout=timeout)
        if parts.scheme == "smtp+starttls":
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.sendmail(_address_of(msg["From"]), [str(msg["To"])], raw)
    except (OSError, smtplib.SMTPException) as exc:
        if client is not None:
            client.close()
        raise MailError(f"{type(exc).__name__}: {exc}", _reply_code(exc)) from exc
    # The server has taken the mail: one that then fumbles QUIT must not have it sent a second time.
    with suppress(OSError, smtplib.SMTPException):
        client.quit()
    client.close()


def _reply_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        return min(int(code) for code, _text in exc.recipients.values())  # one recipient: its code
    return None


def _address_of(header: object) -> str:
    addresses = getattr(header, "addresses", ())
    return str(addresses[0].addr_spec) if addresses else str(header)
