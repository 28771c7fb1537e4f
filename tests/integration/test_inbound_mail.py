"""Customers' mail in, through the pipe (`rapport inbound-mail`) and a real SMTP session with the
built-in listener: a case opened on the right profile, threaded replies, the answer mailed back on
the thread, and what a stranger's mail, a duplicate, an unreadable mail and a broken database get."""

from __future__ import annotations

import re
import smtplib
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conftest import free_port
from factories import eventually, profile_by, says, send_batch
from rapport.cli import app as cli
from rapport.kernel.mail import MailError, build_email
from rapport.service.smtp import start_listener
from rapport.service.store import cases, inbound_mail

runner = CliRunner()


def mail(sender: str, subject: str, text: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@shop.example", subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg.as_bytes()


def pipe(monkeypatch, database_url: str, raw: bytes):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)  # as the mail server's pipe runs it
    return runner.invoke(cli, ["inbound-mail"], input=raw)


@pytest.fixture
def listener(db):
    port = free_port()
    controller = start_listener(db, "127.0.0.1", port)
    yield port
    controller.stop()


def smtp_send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as session:
        session.sendmail("someone@example.com", ["support@shop.example"], raw)


@pytest.fixture
def agent(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('agent')}"}


def only_case(client, headers) -> dict:
    [item] = client.get("/api/v1/cases", headers=headers).json()["items"]
    return client.get(f"/api/v1/cases/{item['id']}", headers=headers).json()


def test_an_unknown_sender_gets_a_profile_a_case_and_the_answer_on_their_thread(
    client, admin_headers, agent, smtp, listener, monkeypatch, database_url, db
):
    first = mail("Zoe Q <Zoe@Example.org>", "Where is my parcel?", "Ordered a week ago.", Message_ID="<z1@example.org>")
    result = pipe(monkeypatch, database_url, first)
    assert result.exit_code == 0 and says(result.output, "opened: opened case"), result.output
    case = only_case(client, agent)
    assert case["channel"] == "email" and case["requester"]["address"] == "zoe@example.org"
    history = case["history"][0]["data"]
    assert history["requester"] == "new sender: a profile is made for them"

    # The processor makes their profile from the case's first event: a bearer id, no email on it.
    def requester() -> str | None:
        client.get("/api/v1/profiles/x", params={"consistent": "true"}, headers=admin_headers)
        return client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["requester"]["profile_id"]

    pid = eventually(requester)
    profile = client.get(f"/api/v1/profiles/{pid}", headers=admin_headers).json()
    assert [i["type"] for i in profile["identifiers"]] == ["anonymous_id"]  # the address joined nothing
    timeline = client.get(f"/api/v1/profiles/{pid}/timeline", headers=admin_headers).json()["items"]
    assert [e["event"] for e in timeline] == ["Case Opened"]

    # The reply goes to the address they wrote from: the case is the proof they hold it.
    res = client.post(
        f"/api/v1/cases/{case['id']}/messages", json={"text": "It left today.", "status": "pending"}, headers=agent
    )
    assert res.status_code == 201 and res.json()["message"]["delivery"] == "queued", res.text
    sent = eventually(lambda: smtp.messages)[0]
    assert sent["To"] == "zoe@example.org" and f"[#{case['reference']}]" in sent["Subject"]

    # Their answer, by a real SMTP session, threads by In-Reply-To and wakes the pending case.
    answer = mail(
        "zoe@example.org",
        sent["Subject"].replace("Re: ", "Re: Re: "),
        "Thanks!\n\nOn Monday you wrote:\n> It left today.",
        Message_ID="<z2@example.org>",
        In_Reply_To=sent["Message-ID"],
    )
    smtp_send(listener, answer)
    after = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert after["status"] == "open" and after["messages"][-1]["display_text"] == "Thanks!"
    assert after["sla"]["clocks"]["next_response"]["state"] == "running"

    # The same mail again (a retry) is stored once; a second mail from them finds the same profile.
    smtp_send(listener, answer)
    assert len(client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["messages"]) == 3
    pipe(monkeypatch, database_url, mail("zoe@example.org", "Another thing", "Also a question."))
    newest = client.get("/api/v1/cases", headers=agent).json()["items"][0]
    assert newest["id"] != case["id"]
    assert client.get(f"/api/v1/cases/{newest['id']}", headers=agent).json()["requester"]["profile_id"] == pid
    with db.read() as conn:
        outcomes = [r.outcome for r in conn.execute(sa.select(inbound_mail).order_by(inbound_mail.c.id))]
    assert outcomes == ["opened", "replied", "ignored", "opened"]


def wire_header(raw: bytes, name: str) -> bytes | None:
    """One header exactly as the receiver got it, folds included; None when absent."""
    found = re.search(
        rb"^" + name.encode() + rb":(.*?)\r\n(?![ \t])", raw.split(b"\r\n\r\n", 1)[0] + b"\r\n", re.M | re.S | re.I
    )
    return found.group(1) if found else None


def test_replies_by_mail_carry_in_reply_to_and_references_to_the_customers_last_mail(
    client, agent, smtp, listener, monkeypatch, database_url
):
    first = mail("zoe@example.org", "Where is my parcel?", "Ordered a week ago.", Message_ID="<z1.abc@example.org>")
    assert pipe(monkeypatch, database_url, first).exit_code == 0
    case = only_case(client, agent)
    eventually(lambda: client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["requester"]["profile_id"])

    res = client.post(
        f"/api/v1/cases/{case['id']}/messages", json={"text": "It left today.", "status": "pending"}, headers=agent
    )
    assert res.status_code == 201 and res.json()["message"]["delivery"] == "queued", res.text
    raw = eventually(lambda: smtp.raw)[0]
    assert wire_header(raw, "In-Reply-To") == b" <z1.abc@example.org>"
    assert wire_header(raw, "References") == b" <z1.abc@example.org>"
    ours = wire_header(raw, "Message-ID")
    assert ours and ours.strip() != b"<z1.abc@example.org>"

    # Their answer threads onto the case; our next reply names it, the latest mail of theirs.
    answer = mail(
        "zoe@example.org",
        "Re: Where is my parcel?",
        "It has not come.",
        Message_ID="<z2.def@example.org>",
        In_Reply_To=ours.strip().decode(),
    )
    smtp_send(listener, answer)
    assert len(smtp.raw) == 1
    res = client.post(f"/api/v1/cases/{case['id']}/messages", json={"text": "Sorry: a new one."}, headers=agent)
    assert res.status_code == 201, res.text
    raw = eventually(lambda: smtp.raw[1:])[0]
    assert wire_header(raw, "In-Reply-To") == b" <z2.def@example.org>"
    assert wire_header(raw, "References") == b" <z2.def@example.org>"
    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["In-Reply-To"] == "<z2.def@example.org>" and "Bcc" not in parsed


@pytest.mark.parametrize(
    "thread_id",
    [
        "<a@b>\r\nBcc: eve@example.com",
        "<a@b>\nBcc: eve@example.com",
        "a@b",  # no brackets
        "<a b@c>",  # a space
        "<a@b> <c@d>",  # two in one
        "=?utf-8?q?=0D=0ABcc:_eve@example.com?=",
        "<\u00e9@b>",  # not ASCII
        "",
    ],
)
def test_only_a_well_formed_message_id_is_written_into_the_threading_headers(thread_id):
    with pytest.raises(MailError):
        build_email(
            sender="R <r@x.example>",
            to="a@example.com",
            subject="s",
            text="t",
            unsubscribe_url=None,
            unsubscribe_mailto=None,
            references=[thread_id],
        )
    if thread_id:
        with pytest.raises(MailError):
            build_email(
                sender="R <r@x.example>",
                to="a@example.com",
                subject="s",
                text="t",
                unsubscribe_url=None,
                unsubscribe_mailto=None,
                in_reply_to=thread_id,
            )


def test_a_long_references_header_folds_only_between_its_message_ids():
    ids = [f"<{'x' * 60}.{n}@example.org>" for n in range(3)]
    msg = build_email(
        sender="R <r@x.example>",
        to="a@example.com",
        subject="s",
        text="t",
        unsubscribe_url=None,
        unsubscribe_mailto=None,
        in_reply_to=ids[-1],
        references=ids,
    )
    raw = msg.as_bytes()
    assert wire_header(raw, "References") == b" " + b"\r\n ".join(i.encode() for i in ids)
    assert wire_header(raw, "In-Reply-To") == b" " + ids[-1].encode()


def test_a_stranger_naming_a_case_in_the_subject_opens_their_own(client, agent, monkeypatch, database_url):
    pipe(monkeypatch, database_url, mail("ada@example.com", "Refund please", "For order 7."))
    case = only_case(client, agent)
    stranger = mail("eve@evil.example", f"Re: Refund please [#{case['reference']}]", "Send it to my account instead")
    result = pipe(monkeypatch, database_url, stranger)
    assert result.exit_code == 0 and says(result.output, "which is not this sender's"), result.output
    items = client.get("/api/v1/cases", headers=agent).json()["items"]
    assert len(items) == 2
    assert len(client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["messages"]) == 1
    eves = client.get(f"/api/v1/cases/{items[0]['id']}", headers=agent).json()
    assert eves["requester"]["address"] == "eve@evil.example"


def test_only_an_asserted_address_joins_its_profile(
    client, backend, source, admin_headers, agent, monkeypatch, database_url
):
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com"}}])
    ada = profile_by(client, admin_headers, "user_id:ada")["id"]
    # With the website's public key, a stranger claims their own address onto Ada's profile.
    send_batch(client, source, [{"type": "identify", "userId": "ada", "traits": {"email": "eve@evil.example"}}])
    assert "email:eve@evil.example" in {
        f"{i['type']}:{i['value']}" for i in profile_by(client, admin_headers, "user_id:ada")["identifiers"]
    }
    pipe(monkeypatch, database_url, mail("ada@example.com", "Hello", "From Ada"))
    pipe(monkeypatch, database_url, mail("eve@evil.example", "Hello", "Tell me Ada's orders"))
    eve_case, ada_case = client.get("/api/v1/cases", headers=agent).json()["items"]
    assert client.get(f"/api/v1/cases/{ada_case['id']}", headers=agent).json()["requester"]["profile_id"] == ada
    eves = client.get(f"/api/v1/cases/{eve_case['id']}", headers=agent).json()
    assert eves["requester"]["profile_id"] != ada  # a claim never puts a stranger's mail on Ada's profile
    assert "only claimed on another profile" in eves["history"][0]["data"]["requester"]


def test_what_cannot_be_read_is_kept_with_the_reason_and_a_broken_database_defers(
    client, agent, monkeypatch, database_url, db, tmp_path
):
    for raw in (b"", b"\xff\xfegarbage", b"To: x@y.z\r\nSubject: no sender\r\n\r\nhi"):
        result = pipe(monkeypatch, database_url, raw)
        assert result.exit_code == 0, result.output
    with db.read() as conn:
        kept = conn.execute(sa.select(inbound_mail.c.outcome, inbound_mail.c.reason, inbound_mail.c.raw)).all()
    assert [k.outcome for k in kept] == ["unreadable", "unreadable", "unreadable"]
    assert all(k.reason for k in kept) and kept[1].raw == b"\xff\xfegarbage"
    auto = mail("ada@example.com", "Out of office", "Away", Auto_Submitted="auto-replied")
    assert says(pipe(monkeypatch, database_url, auto).output, "ignored: sent by a machine")
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one() == 0
    # a file works as standard input does; too large bounces (65); no database defers (75)
    path = tmp_path / "m.eml"
    path.write_bytes(mail("ada@example.com", "From a file", "Hi"))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    assert runner.invoke(cli, ["inbound-mail", str(path)]).exit_code == 0
    huge = mail("ada@example.com", "Big", "x" * (25 * 1024 * 1024 + 10))
    assert pipe(monkeypatch, database_url, huge).exit_code == 65
    assert pipe(monkeypatch, "sqlite:////nonexistent-dir/rapport.db", mail("a@b.co", "x", "y")).exit_code == 75


def test_the_listener_refuses_a_mail_over_the_limit_and_serve_offers_it(listener):
    with smtplib.SMTP("127.0.0.1", listener, timeout=10) as session, pytest.raises(smtplib.SMTPException):
        session.sendmail("a@b.co", ["support@shop.example"], b"Subject: big\r\n\r\n" + b"x" * (26 * 1024 * 1024))
    assert "--smtp-port" in runner.invoke(cli, ["serve", "--help"]).output


def test_raw_8bit_headers_and_attachments_are_stored_and_downloaded(
    client, agent, monkeypatch, database_url, make_token
):
    raw = (
        b"From: J\xc3\xa9r\xc3\xb4me <jerome@example.fr>\r\nSubject: caf\xc3\xa9 \xe9 ferm\xe9\r\n"
        b"Message-ID: <a\x00b@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoir la facture.\r\n"
        b"--b\r\nContent-Type: text/html\x00; name=x.html\r\n"
        b'Content-Disposition: attachment; filename="f\xe9.html"\r\n\r\n'
        b"<script>alert(1)</script>\r\n--b--\r\n"
    )
    result = pipe(monkeypatch, database_url, raw)
    assert result.exit_code == 0 and says(result.output, "opened"), result.output
    case = only_case(client, agent)
    assert case["subject"].startswith("café") and case["requester"]["name"] == "Jérôme"
    [file] = case["messages"][0]["attachments"]
    res = client.get(f"/api/v1/cases/{case['id']}/attachments/{file['id']}", headers=agent)
    assert res.status_code == 200 and res.content.startswith(b"<script>")
    assert (
        res.headers["content-type"] == "application/octet-stream"
        and res.headers["content-security-policy"] == "sandbox"
    )
    assert res.headers["content-disposition"].startswith("attachment;")


def test_with_a_trusted_mail_server_a_forged_sender_joins_no_case_and_no_profile(
    client, backend, admin_headers, agent, monkeypatch, database_url
):
    monkeypatch.setenv("RAPPORT_INBOUND_AUTHSERV_ID", "mx.shop.example")
    send_batch(client, backend, [{"type": "identify", "userId": "ada", "traits": {"email": "ada@example.com"}}])
    ada = profile_by(client, admin_headers, "user_id:ada")["id"]
    genuine = "mx.shop.example; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
    pipe(monkeypatch, database_url, mail("ada@example.com", "Refund", "For order 7.", Authentication_Results=genuine))
    case = only_case(client, agent)
    assert case["requester"]["profile_id"] == ada

    forged = "mx.shop.example; spf=fail smtp.mailfrom=ada@example.com; dmarc=fail header.from=example.com"
    reply = mail(
        "ada@example.com", f"Re: Refund [#{case['reference']}]", "Pay it to IBAN XX00", Authentication_Results=forged
    )
    result = pipe(monkeypatch, database_url, reply)
    assert result.exit_code == 0 and says(result.output, "sender not authenticated by mx.shop.example"), result.output
    # a mail that did not pass through the server at all fails too
    pipe(monkeypatch, database_url, mail("ada@example.com", "Also me", "Trust me"))
    assert len(client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["messages"]) == 1
    others = [c for c in client.get("/api/v1/cases", headers=agent).json()["items"] if c["id"] != case["id"]]
    assert len(others) == 2
    for other in others:
        detail = client.get(f"/api/v1/cases/{other['id']}", headers=agent).json()
        assert detail["requester"]["profile_id"] != ada
        assert "not joined to the profile of that address" in detail["history"][0]["data"]["requester"]

    # The genuine sender, authenticated, still threads onto her case.
    again = mail("ada@example.com", f"Re: Refund [#{case['reference']}]", "Any news?", Authentication_Results=genuine)
    assert says(pipe(monkeypatch, database_url, again).output, "added to case")


def test_a_binary_attachment_is_in_the_senders_export_as_base64(
    client, admin_headers, agent, monkeypatch, database_url
):
    """Export must carry every byte the person sent: an attachment that is not text comes out as base64,
    in the JSON document and in the zip, never as an error."""
    import base64
    import io
    import json
    import zipfile

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ada@example.com", "support@shop.example", "Photo of the damage"
    msg.set_content("See the photo.")
    picture = bytes([0x89, 0x50, 0x4E, 0x47, 0xFF, 0xFE, 0x00, 0x80]) * 16
    msg.add_attachment(picture, maintype="image", subtype="png", filename="damage.png")
    assert pipe(monkeypatch, database_url, msg.as_bytes()).exit_code == 0
    case = only_case(client, agent)
    pid = eventually(lambda: client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()["requester"]["profile_id"])
    res = client.post(f"/api/v1/profiles/{pid}/export", headers=admin_headers)
    assert res.status_code == 200, res.text
    [row] = res.json()["stores"]["case_attachments"]["rows"]
    assert base64.b64decode(row["content"]) == picture
    res = client.post(f"/api/v1/profiles/{pid}/export", params={"format": "zip"}, headers=admin_headers)
    assert res.status_code == 200
    with zipfile.ZipFile(io.BytesIO(res.content)) as archive:
        document = json.loads(archive.read("export.json"))
    assert base64.b64decode(document["stores"]["case_attachments"]["rows"][0]["content"]) == picture
