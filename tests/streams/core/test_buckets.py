"""Buckets of finalised patient-time and bed-time."""

from __future__ import annotations

from streams.core.buckets import Buckets, floor_to


def test_floor_to() -> None:
    assert (floor_to(0, 300), floor_to(299, 300), floor_to(300, 300)) == (0, 0, 300)


def test_amounts_land_in_their_bucket_and_sum_by_range() -> None:
    b = Buckets(300)
    b.add_amount(610, 5, 10)  # bucket 600
    b.add_amount(1250, 1, 2)  # bucket 1200, leaving 900 empty
    b.add_amount(600, 1, 1)
    assert (b.start, b.data) == (600, [6, 11, 0, 0, 1, 2])
    assert b.sum_range(600, 1500) == (7, 13)
    assert b.sum_range(900, 1200) == (0, 0)
    assert b.sum_range(0, 900) == (6, 11)  # before the start counts nothing
    assert b.sum_range(1500, 3000) == (0, 0)
    b.add_amount(300, 2, 2)  # before the start: the range grows at the front
    assert (b.start, b.data[:2]) == (300, [2, 2])


def test_trim_and_round_trip() -> None:
    b = Buckets(300)
    for k in range(5):
        b.add_amount(k * 300, k, 10 * k)
    b.trim_before(600)
    assert (b.start, b.data) == (600, [2, 20, 3, 30, 4, 40])
    assert Buckets.from_list(300, b.to_list()) == b
    b.trim_before(10_000)
    assert (b.start, b.data, b.to_list()) == (None, [], None)
    assert Buckets.from_list(300, None) == Buckets(300)
    assert b.sum_range(0, 10_000) == (0, 0)
