"""What becomes of a mail the SMTP server did not take (outbound/model.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapport.outbound.model import RetryPolicy, after_failure, is_temporary

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy()


def test_4xx_and_no_reply_are_temporary_5xx_is_not():
    assert is_temporary(None) and is_temporary(421) and is_temporary(451)
    assert not is_temporary(550) and not is_temporary(554)


def test_waits_double_from_a_minute_up_to_an_hour():
    waits = [POLICY.delay(n) for n in range(1, POLICY.max_attempts)]
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(waits) == timedelta(hours=1)
    assert timedelta(hours=3) < sum(waits, timedelta()) < timedelta(hours=5)  # given up some four hours on


def test_a_temporary_failure_is_tried_again_until_the_last_attempt():
    verdict = after_failure("SMTPRecipientsRefused: 451", 451, 1, NOW, POLICY, None)
    assert verdict.retry_at == NOW + timedelta(minutes=1) and "trying again" in verdict.reason
    last = after_failure("timed out", None, POLICY.max_attempts, NOW, POLICY, None)
    assert last.retry_at is None and f"failed {POLICY.max_attempts} times" in last.reason


def test_a_permanent_failure_is_given_up_at_once_with_the_servers_words():
    verdict = after_failure("SMTPRecipientsRefused: 550 No such user", 550, 1, NOW, POLICY, None)
    assert (
        verdict.retry_at is None and verdict.reason == "SMTP delivery failed: SMTPRecipientsRefused: 550 No such user"
    )


def test_a_mail_is_not_tried_again_after_what_it_links_to_expires():
    soon = NOW + timedelta(seconds=30)
    verdict = after_failure("timed out", None, 1, NOW, POLICY, soon)
    assert verdict.retry_at is None and "expires" in verdict.reason
    assert after_failure("timed out", None, 1, NOW, POLICY, NOW + timedelta(hours=1)).retry_at is not None
