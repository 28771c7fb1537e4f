"""Reading a customer's mail as it really arrives. Pure.

Mail clients send multipart/alternative (text and HTML), HTML only, attachments, any charset
(declared or not, sometimes wrongly), headers that break the RFCs, and quote the whole thread under
every reply. `read_mail` takes the raw bytes and answers what a case needs, or raises `Unreadable`
with the reason; it never raises anything else for any input (tests/unit/service/test_mime.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from rapport.identity.model import normalize_email

MAX_MAIL_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
_MSGID = re.compile(r"<[!-;=?-~]{1,245}>")  # printable ASCII but the brackets
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
_QUOTE_HEADS = re.compile(
    r"^\s*(On\b.{0,200}\bwrote:|Le\b.{0,200}\ba écrit\s?:|Am\b.{0,200}\bschrieb\b.{0,80}:|El\b.{0,200}\bescribió:"
    r"|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Ursprüngliche Nachricht\s*-{2,}|_{10,}\s*$"
    r"|From:\s.{1,200}\bSent:\s)",
    re.IGNORECASE,
)
_AUTO = ("auto-replied", "auto-generated", "auto-notified")


class Unreadable(ValueError):
    """The mail cannot become a case message: the reason is kept with it."""


@dataclass(frozen=True)
class File:
    filename: str
    content_type: str
    size: int
    content: bytes | None
    note: str | None = None


@dataclass
class Mail:
    sender: str | None
    sender_name: str | None
    subject: str
    message_id: str | None
    refers_to: list[str]  # In-Reply-To and References, nearest first
    text: str
    display_text: str
    from_html: bool
    files: list[File] = field(default_factory=list)
    automatic: str | None = None  # why it looks sent by a machine (an auto-reply, a bounce)
    authentication: tuple[str, ...] = ()  # its Authentication-Results headers, topmost first


def read_mail(raw: bytes) -> Mail:
    if len(raw) > MAX_MAIL_BYTES:
        raise Unreadable(f"the mail is {len(raw)} bytes, over the {MAX_MAIL_BYTES} byte limit")
    if not raw.strip():
        raise Unreadable("the mail is empty")
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; anything it still raises is the mail's fault
        raise Unreadable(f"the mail cannot be parsed: {exc}") from None
    if not msg.keys():
        raise Unreadable("the mail has no headers")
    name, sender = _sender(msg)
    text, from_html, files = _body(msg)
    refers = _ids(_header(msg, "In-Reply-To")) + list(reversed(_ids(_header(msg, "References"))))
    return Mail(
        sender=sender,
        sender_name=name,
        subject=_one_line(_header(msg, "Subject"))[:300] or "(no subject)",
        message_id=next(iter(_ids(_header(msg, "Message-ID"))), None),
        refers_to=list(dict.fromkeys(refers)),
        text=text,
        display_text=strip_quoted(text),
        from_html=from_html,
        files=files,
        automatic=_automatic(msg, sender),
        authentication=tuple(
            str(v).encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:2000]
            for k, v in msg.raw_items()
            if k.lower() == "authentication-results"
        )[:20],
    )


def _header(msg: Message, name: str) -> str:
    """A header's text, decoded from RFC 2047 where it can be; raw (with replacement) where not."""
    value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if value is None:
        return ""
    # Raw 8-bit bytes in a header (RFC 6532 UTF-8, or a client that ignores the RFCs) reach us as
    # surrogate escapes, which no database can store: read them back as UTF-8.
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "")
    try:
        return str(make_header(decode_header(text))).replace("\x00", "")
    except Exception:  # noqa: BLE001 - a broken encoded word or unknown charset: keep what is there
        return text


def _one_line(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _sender(msg: Message) -> tuple[str | None, str | None]:
    raw = _header(msg, "From")
    try:
        found = getaddresses([raw])
    except Exception:  # noqa: BLE001
        found = [parseaddr(raw)]
    for name, address in found:
        if (email := normalize_email(address)) and email.isprintable():
            return (_one_line(name)[:200] or None), email
    loose = re.search(r"[^\s<>\"']+@[^\s<>\"']+\.[A-Za-z]{2,}", raw)  # a From no parser reads
    email = normalize_email(loose.group(0)) if loose else None
    return None, email if email and email.isprintable() else None


def _ids(text: str) -> list[str]:
    return _MSGID.findall(text or "")


def _automatic(msg: Message, sender: str | None) -> str | None:
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if auto.startswith(_AUTO):
        return f"Auto-Submitted: {auto}"
    if _header(msg, "Precedence").strip().lower() in ("bulk", "junk", "auto_reply", "list"):
        return "Precedence: " + _header(msg, "Precedence").strip().lower()
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "an auto-responder's header"
    if sender and sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return "a delivery report (bounce)"
    if msg.get_content_type() == "multipart/report":
        return "a delivery report (bounce)"
    return None


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "windows-1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", "replace")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        return "attachment"
    if name is None:
        return None
    return _one_line(str(make_header(decode_header(name))) if "=?" in name else name)[:255] or "attachment"


def _body(msg: Message) -> tuple[str, bool, list[File]]:
    plain: list[str] = []
    html: list[str] = []
    files: list[File] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type().encode("ascii", "replace").decode()
        disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
        name = _filename(part)
        if disposition == "attachment" or (name and kind not in ("text/plain", "text/html")):
            files.append(_file(part, name or "attachment", kind, len(files)))
        elif kind == "text/plain":
            plain.append(_decode(part))
        elif kind == "text/html":
            html.append(_decode(part))
        elif kind.startswith(("image/", "audio/", "video/", "application/")):
            files.append(_file(part, name or f"part-{len(files) + 1}", kind, len(files)))
    if plain:
        return _clean("\n\n".join(plain)), False, files
    if html:
        return _clean(html_to_text("\n".join(html))), True, files
    if files:
        return "", False, files
    raise Unreadable("the mail has no text and no attachment")


def _file(part: Message, name: str, kind: str, index: int) -> File:
    kind = kind if _MEDIA_TYPE.match(kind) else "application/octet-stream"
    try:
        content = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        content = None
    data = content if isinstance(content, bytes) else b""
    if index >= MAX_ATTACHMENTS:
        return File(name, kind[:127], len(data), None, f"not stored: more than {MAX_ATTACHMENTS} attachments")
    if len(data) > MAX_ATTACHMENT_BYTES:
        return File(name, kind[:127], len(data), None, f"not stored: over {MAX_ATTACHMENT_BYTES} bytes")
    return File(name, kind[:127], len(data), data)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable() or ch == " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: up to the first "On ... wrote:" (and its kin), without `>` lines."""
    kept: list[str] = []
    for line in text.split("\n"):
        if _QUOTE_HEADS.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    new = "\n".join(kept).strip()
    return new or text


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "blockquote":
            self.quoted += 1
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quoted = max(0, self.quoted - 1)
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = " ".join(data.split())
        if text:
            self.parts.append(("> " if self.quoted else "") + text + " ")


def html_to_text(html: str) -> str:
    """The text of an HTML mail, paragraphs as blank lines; quoted blocks marked with `>`."""
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; fall back to dropping tags
        return re.sub(r"<[^>]*>", " ", html)
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
