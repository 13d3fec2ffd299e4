"""Retry delays of the sink (unit)."""

from __future__ import annotations

import pytest

from store.backoff import Backoff


def test_doubles_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(base_s=0.5, cap_s=4.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_shortens_by_at_most_its_share() -> None:
    low = Backoff(base_s=1.0, cap_s=8.0, jitter=0.5, random=lambda: 1.0)
    high = Backoff(base_s=1.0, cap_s=8.0, jitter=0.5, random=lambda: 0.0)
    assert low.delay(3) == 2.0
    assert high.delay(3) == 4.0


def test_long_outages_do_not_overflow() -> None:
    assert Backoff(cap_s=10.0, jitter=0.0).delay(10_000) == 10.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        Backoff().delay(0)
