"""The built-in SMTP listener for customers' mail (`rapport serve --smtp-port`), on aiosmtpd.

Each mail is stored before it is acknowledged: the listener answers 250 only once
service/mail.py has kept it (as a case, a reply, or unread with the reason), and 451 when the
database could not take it, so the sending server tries again. A mail over the size limit is
refused with 552 before it is read whole.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rapport.db.engine import Database
from rapport.service.mail import receive_mail
from rapport.service.mime import MAX_MAIL_BYTES

log = logging.getLogger("rapport.service.smtp")


class InboundHandler:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            received = await asyncio.to_thread(receive_mail, self.db, raw, via="smtp")
        except Exception:  # the database could not take it: the sender keeps it and tries again
            log.exception("an inbound mail could not be stored; answered 451")
            return "451 4.3.0 The mail could not be stored now; try again later"
        return f"250 2.0.0 Stored ({received.outcome})"


def start_listener(db: Database, host: str, port: int) -> Any:
    """Listen for mail on host:port in a thread of its own; answers the controller (`.stop()`)."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        InboundHandler(db),
        hostname=host,
        port=port,
        data_size_limit=MAX_MAIL_BYTES,
        enable_SMTPUTF8=True,
        ident="Rapport inbound mail",
    )
    controller.start()
    return controller
