"""Email over real SMTP (RAPPORT_SMTP_URL), with RFC 2369 / RFC 8058 unsubscribe headers."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit


class MailError(Exception):
    pass


def build_email(
    *, sender: str, to: str, subject: str, text: str, unsubscribe_url: str | None, unsubscribe_mailto: str | None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr(("", to))
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or "localhost")
    body = text
    if unsubscribe_url:
        links = [f"<{unsubscribe_url}>"] + ([f"<{unsubscribe_mailto}>"] if unsubscribe_mailto else [])
        msg["List-Unsubscribe"] = ", ".join(links)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body += f"\n\n--\nTo stop these emails, unsubscribe here: {unsubscribe_url}\n"
    msg.set_content(body)
    return msg


def send_email(smtp_url: str, msg: EmailMessage, timeout: float = 10.0) -> None:
    """Deliver through the SMTP server named by a URL: smtp://[user:pass@]host:port, smtps://, smtp+starttls://."""
    parts = urlsplit(smtp_url)
    host, port = parts.hostname or "localhost", parts.port
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=timeout)
        else:
            client = smtplib.SMTP(host, port or 25, timeout=timeout)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
