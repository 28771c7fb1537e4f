"""Real-world mail as customers' clients send it: read into a case message, never a crash."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.service.mime import MAX_ATTACHMENT_BYTES, Unreadable, read_mail, strip_quoted

GMAIL_REPLY = (
    b"From: Ada Lovelace <Ada@Example.com>\r\n"
    b"To: support@shop.example\r\n"
    b"Subject: Re: My order is late [#K7P2QX9M]\r\n"
    b"Message-ID: <CAF1@mail.gmail.com>\r\n"
    b"In-Reply-To: <ours-2@shop.example>\r\n"
    b"References: <ours-1@shop.example> <ours-2@shop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Still nothing =E2=80=94 caf=C3=A9 closed?\r\n\r\n"
    b"On Mon, 16 Jun 2025 at 10:00, Shop <support@shop.example> wrote:\r\n> It ships today.\r\n"
    b"--b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
    b"<div>Still nothing \xe2\x80\x94 caf\xc3\xa9 closed?</div><blockquote>It ships today.</blockquote>\r\n"
    b"--b1--\r\n"
)


def test_multipart_alternative_reads_the_text_part_and_strips_the_quote() -> None:
    mail = read_mail(GMAIL_REPLY)
    assert (mail.sender, mail.sender_name) == ("ada@example.com", "Ada Lovelace")
    assert mail.subject == "Re: My order is late [#K7P2QX9M]"
    assert mail.message_id == "<CAF1@mail.gmail.com>"
    assert mail.refers_to == ["<ours-2@shop.example>", "<ours-1@shop.example>"]  # nearest first
    assert mail.display_text == "Still nothing — café closed?"
    assert "It ships today" in mail.text and not mail.from_html and mail.automatic is None


def test_html_only_in_a_western_charset_with_a_quoted_block() -> None:
    raw = (
        b"From: bob@example.com\r\nSubject: =?iso-8859-1?q?R=E9clamation?=\r\n"
        b"Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body><p>Le colis est ab\xeem\xe9.</p>"
        b"<p>Merci&nbsp;!</p><blockquote>Votre commande</blockquote><script>alert(1)</script></body></html>"
    )
    mail = read_mail(raw)
    assert mail.subject == "Réclamation" and mail.from_html
    assert mail.display_text == "Le colis est abîmé.\n\nMerci !"
    assert "color" not in mail.text and "alert" not in mail.text


def test_attachments_are_kept_within_the_size_limit() -> None:
    small = base64.b64encode(b"%PDF-1.4 receipt").decode()
    big = base64.b64encode(b"x" * (MAX_ATTACHMENT_BYTES + 1)).decode()
    raw = (
        "From: ada@example.com\r\nSubject: Receipt\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        "--m\r\nContent-Type: application/pdf; name=receipt.pdf\r\nContent-Disposition: attachment; "
        f'filename="receipt.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n{small}\r\n'
        "--m\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename*=UTF-8''photo%20%C3%A9.png\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{big}\r\n--m--\r\n"
    ).encode()
    mail = read_mail(raw)
    receipt, photo = mail.files
    assert (receipt.filename, receipt.content_type, receipt.content) == (
        "receipt.pdf",
        "application/pdf",
        b"%PDF-1.4 receipt",
    )
    assert photo.filename == "photo é.png" and photo.content is None and "not stored" in (photo.note or "")
    assert photo.size == MAX_ATTACHMENT_BYTES + 1 and mail.text == "See attached."


def test_unknown_charsets_broken_encoded_words_and_malformed_headers() -> None:
    raw = (
        b'From: "Broken <<cat@example.com\r\nSubject: =?utf-8?B?not-base64?= and =?x-nope?q?what?=\r\n'
        b"Content-Type: text/plain; charset=x-unknown-charset\r\nMessage-ID: not an id\r\n\r\n"
        b"Hello \xe9t\xe9\r\n"
    )
    mail = read_mail(raw)
    assert mail.sender == "cat@example.com" and mail.message_id is None
    assert mail.text.startswith("Hello") and mail.subject


def test_japanese_in_iso_2022_jp() -> None:
    body = "配達が遅れています".encode("iso-2022-jp")
    raw = (
        b"From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n"
        b"Subject: =?ISO-2022-JP?B?GyRCJDQ4Pk1NGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + body
    )
    mail = read_mail(raw)
    assert mail.text == "配達が遅れています" and mail.sender == "yamada@example.jp" and mail.sender_name


def test_machines_are_recognized() -> None:
    auto = b"From: ada@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway."
    bounce = b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\n\r\nFailed."
    assert read_mail(auto).automatic and read_mail(bounce).automatic
    assert read_mail(GMAIL_REPLY).automatic is None


def test_what_cannot_be_read_says_why() -> None:
    for raw in (b"", b"   \r\n", b"\xff\xfe\x00garbage without headers"):
        try:
            read_mail(raw)
        except Unreadable as exc:
            assert str(exc)
        else:
            raise AssertionError(raw)


def test_quoted_replies_in_several_languages() -> None:
    for head in (
        "Le lun. 16 juin 2025, Shop a écrit :",
        "Am 16.06.2025 schrieb Shop <s@x.de>:",
        "-----Original Message-----",
        "From: Shop Sent: Monday",
    ):
        assert strip_quoted(f"Thanks!\n\n{head}\nold text") == "Thanks!"
    assert strip_quoted("> only a quote") == "> only a quote"  # nothing new: the whole text


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.binary(max_size=2000)
    | st.text(max_size=2000).map(lambda t: ("From: a@b.co\r\n" + t).encode("utf-8", "surrogatepass"))
)
def test_any_bytes_are_read_or_refused_with_a_reason_never_a_crash(raw: bytes) -> None:
    try:
        mail = read_mail(raw)
    except Unreadable:
        return
    assert isinstance(mail.text, str) and isinstance(mail.subject, str)
