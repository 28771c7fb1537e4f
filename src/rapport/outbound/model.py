"""Outbound's pure rules: what a queued mail is, and what becomes of one the SMTP server did not take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# What the contact history says of a mail, in order: queued by the request, then one final outcome.
QUEUED_REASON = "permission granted; queued for delivery"
SENT_REASON = "permission granted; delivered to the SMTP server"


@dataclass(frozen=True)
class Mail:
    """One email as the outbox keeps it until the worker has sent it or given it up."""

    profile_id: str
    channel: str
    purpose: str
    contact_point: str
    subject: str
    text: str
    actor: str
    outreach: bool  # asked again as the send path first asked: outreach respects quiet hours and caps
    message_id: str  # the Message-ID header, the same on every attempt
    expires_at: datetime | None = None  # a sign-in link's mail is useless once the link has expired
    # Threading a reply under the customer's mail: the Message-ID it answers, and the thread's
    # Message-IDs separated by spaces (the In-Reply-To and References headers).
    in_reply_to: str | None = None
    references: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Temporary failures are tried again after 1, 2, 4 ... minutes, at most an hour apart; the 10th
    failure gives the mail up (about four hours after it was queued)."""

    max_attempts: int = 10
    first_delay_s: float = 60.0
    longest_delay_s: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        return timedelta(seconds=min(self.longest_delay_s, self.first_delay_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Verdict:
    """After a failed attempt: try again at `retry_at`, or give up (retry_at None) for `reason`."""

    reason: str
    retry_at: datetime | None = None


def is_temporary(code: int | None) -> bool:
    """SMTP 4xx replies say "not now"; no reply at all (refused, reset, timed out) may also pass. A
    5xx reply says never: sending it again would only be refused again."""
    return code is None or code < 500


def after_failure(
    error: str, code: int | None, attempts: int, now: datetime, policy: RetryPolicy, expires_at: datetime | None
) -> Verdict:
    """What to do with a mail whose `attempts`-th attempt failed with `error` (SMTP reply `code`)."""
    if not is_temporary(code):
        return Verdict(f"SMTP delivery failed: {error}")
    if attempts >= policy.max_attempts:
        return Verdict(f"SMTP delivery failed {attempts} times; gave up after: {error}")
    retry_at = now + policy.delay(attempts)
    if expires_at is not None and retry_at >= expires_at:
        return Verdict(f"SMTP delivery failed, and what the mail links to expires before another try: {error}")
    return Verdict(f"SMTP delivery failed; trying again: {error}", retry_at)
