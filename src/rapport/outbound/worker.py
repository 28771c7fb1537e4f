"""The outbox worker: the one place mail is handed to SMTP, outside every request.

It runs where the log's consumers run, in a thread beside them (`rapport.contexts` lists it as
outbound's worker): in the consumers' child process with RAPPORT_PROCESSOR=process, in the
server's threads with `thread`, nowhere with `off` (mail then waits in the outbox for a server that
runs one). A slow or hung SMTP server holds only the worker's own threads: at most `in_flight` mails
talk to it at once, each wait bounded by `smtp_timeout_s`.

Each mail is claimed before it is sent (outbound/store.py: no two workers, in one process or many,
take the same one), its permission asked again right before SMTP (a customer who unsubscribed or
was erased since it was queued gets nothing), and its final outcome recorded in the transaction
that removes it from the outbox. A temporary failure (a 4xx reply, no reply) is tried again later,
a permanent one (5xx) is given up at once (outbound/model.py).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, ClassVar

from rapport.consent.model import CONFIRMATION, SERVICE
from rapport.consent.service import check_permission_for
from rapport.consent.unsubscribe import UnsubscribeTarget
from rapport.db.engine import Database
from rapport.kernel.clock import utcnow
from rapport.kernel.mail import MailError, build_email, dkim_of, send_email
from rapport.outbound.model import SENT_REASON, RetryPolicy, Verdict, after_failure
from rapport.outbound.service import record_outcome, unsubscribe_links
from rapport.outbound.store import anything_due, claim_due, release, remove

log = logging.getLogger("rapport.outbox")
Queued = Any  # a row of the outbox table


class OutboxWorker:
    in_flight: ClassVar[int] = 4  # mails talking to the SMTP server at once
    smtp_timeout_s: ClassVar[float] = 30.0  # each wait for the server's reply
    # How long a claimed mail is this worker's: far longer than a send can take with the timeout
    # above, so only a worker that died mid-send loses its mail to another (which sends it again).
    lease: ClassVar[timedelta] = timedelta(minutes=10)
    poll_s: ClassVar[float] = 0.1  # between looks at an empty outbox (a read of one index entry)
    retry: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(self, db: Database, name: str | None = None) -> None:
        self.db = db
        self.name = name or f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"

    def claim(self, limit: int) -> list[Queued]:
        with self.db.read() as conn:
            if not anything_due(conn, utcnow()):
                return []
        with self.db.write() as conn:
            return claim_due(conn, self.name, limit, utcnow(), self.lease)

    def send_due(self) -> int:
        """Send every mail due now, `in_flight` at a time; answer how many were tried."""
        tried = 0
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="rapport-outbox") as pool:
            while mails := self.claim(self.in_flight):
                list(pool.map(self.deliver, mails))
                tried += len(mails)
        return tried

    def run(self, stop: threading.Event) -> None:
        """Keep sending until `stop` is set; a slot that frees takes the next due mail at once."""
        sending: set[Future[None]] = set()
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="rapport-outbox") as pool:
            while not stop.is_set():
                free = self.in_flight - len(sending)
                try:
                    mails = self.claim(free) if free else []
                except Exception:  # noqa: BLE001 - the database is unavailable: try again
                    log.exception("cannot read the outbox; trying again in a second")
                    stop.wait(1.0)
                    continue
                sending.update(pool.submit(self.deliver, mail) for mail in mails)
                if sending:
                    sending = wait(sending, timeout=self.poll_s, return_when=FIRST_COMPLETED).not_done
                else:
                    stop.wait(self.poll_s)

    def deliver(self, mail: Queued) -> None:
        """Send one claimed mail and record what became of it. Never raises: a mail whose outcome
        could not be recorded stays claimed, and is tried again when the lease runs out."""
        try:
            self._deliver(mail)
        except Exception:  # noqa: BLE001 - one mail must not stop the worker
            log.exception("outbox mail %s: its outcome could not be recorded", mail.id)

    def _deliver(self, mail: Queued) -> None:
        if mail.expires_at is not None and mail.expires_at <= utcnow():
            self._finish(mail, "failed", "what the mail links to expired before it could be sent")
            return
        with self.db.read() as conn:
            decision = check_permission_for(
                conn,
                mail.profile_id,
                mail.purpose,
                mail.channel,
                contact_point=mail.contact_point,
                outreach=mail.outreach,
            )
        smtp_url = self.db.settings.smtp_url
        if not decision:
            self._finish(mail, "suppressed", decision.reason)
            return
        if not smtp_url:
            self._finish(mail, "failed", "no SMTP server is configured (RAPPORT_SMTP_URL)")
            return
        try:
            message = self._message(mail)
        except MailError as exc:  # an address or subject that cannot be written safely: never will be
            self._finish(mail, "failed", f"the mail could not be written: {exc}")
            return
        try:
            send_email(smtp_url, message, timeout=self.smtp_timeout_s, dkim=dkim_of(self.db.settings))
        except MailError as exc:
            verdict = after_failure(str(exc), exc.code, mail.attempts, utcnow(), self.retry, mail.expires_at)
            if verdict.retry_at is None:
                self._finish(mail, "failed", verdict.reason)
            else:
                self._retry(mail, verdict, exc.code)
            return
        self._finish(mail, "sent", SENT_REASON)

    def _message(self, mail: Queued) -> EmailMessage:
        url = mailto = None
        if mail.purpose not in (SERVICE, CONFIRMATION):  # what the customer asked for has no unsubscribe
            target = UnsubscribeTarget(mail.profile_id, mail.purpose, mail.channel, mail.contact_point)
            url, mailto = unsubscribe_links(self.db, target)
        return build_email(
            sender=self.db.settings.mail_from,
            to=mail.contact_point,
            subject=mail.subject,
            text=mail.text,
            unsubscribe_url=url,
            unsubscribe_mailto=mailto,
            message_id=mail.message_id,
            in_reply_to=mail.in_reply_to,
            references=(mail.references or "").split(),
        )

    def _finish(self, mail: Queued, status: str, reason: str) -> None:
        with self.db.write() as conn:
            if not remove(conn, mail.id, self.name):
                log.warning("outbox mail %s was no longer this worker's (erased, or its lease ran out)", mail.id)
                return
            if mail.history_id is not None:
                record_outcome(conn, mail.history_id, status, reason)
        # Logs outlive erasure: they name the mail and what happened, never the address or the
        # server's words (an SMTP refusal quotes the address).
        if status == "failed":
            log.error("outbox mail %s (%s) failed after %d attempts", mail.id, mail.purpose, mail.attempts)

    def _retry(self, mail: Queued, verdict: Verdict, code: int | None) -> None:
        assert verdict.retry_at is not None
        with self.db.write() as conn:
            release(conn, mail.id, self.name, verdict.retry_at, verdict.reason)
        log.warning(
            "outbox mail %s: attempt %d not taken (SMTP reply %s); trying again at %s",
            mail.id,
            mail.attempts,
            code or "none",
            f"{verdict.retry_at:%H:%M:%S}",
        )


def run_outbox(db: Database, stop: threading.Event) -> None:
    """Outbound's worker, as `rapport.contexts` lists it: sends queued mail until `stop` is set."""
    OutboxWorker(db).run(stop)


def send_due(db: Database, name: str | None = None) -> int:
    """Send what is due now, once, and return how many were tried (tests wait for delivery so)."""
    return OutboxWorker(db, name).send_due()
