"""Fixed-window limits: per key and in all, reset when the window turns."""

from __future__ import annotations

from rapport.kernel.limits import WindowLimit


def test_a_key_past_its_limit_waits_for_the_next_window():
    now = [1000.0]
    limit = WindowLimit(per_key=2, in_all=10, window_s=60, clock=lambda: now[0])
    assert [limit.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limit.take("a") == 20.0  # the window is [960, 1020)
    assert limit.take("b") == 0.0, "another key is not held back by a"
    now[0] = 1020.0
    assert limit.take("a") == 0.0, "a new window"


def test_all_keys_together_are_bounded():
    now = [0.0]
    limit = WindowLimit(per_key=5, in_all=3, window_s=100, clock=lambda: now[0])
    assert [limit.take(k) for k in ("a", "b", "c")] == [0.0, 0.0, 0.0]
    assert limit.take("d") == 100.0
