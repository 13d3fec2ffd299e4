from __future__ import annotations

import pytest

from api.client_buffer import LatestPerKeyBuffer, Offer


def test_latest_value_per_key_replaces_in_place() -> None:
    buffer = LatestPerKeyBuffer(limit=10)
    assert buffer.offer("a", "a1") is Offer.QUEUED
    assert buffer.offer("b", "b1") is Offer.QUEUED
    assert buffer.offer("a", "a2") is Offer.SUPERSEDED
    assert buffer.superseded == 1
    assert buffer.pop() == ("a", "a2")  # keeps its place: a hot key cannot starve others
    assert buffer.pop() == ("b", "b1")
    assert buffer.pop() is None


def test_same_frame_twice_is_a_duplicate_not_superseded() -> None:
    buffer = LatestPerKeyBuffer(limit=10)
    frame = "x"
    buffer.offer("k", frame)
    assert buffer.offer("k", frame) is Offer.DUPLICATE
    assert buffer.superseded == 0


def test_stalled_client_stays_bounded_by_distinct_keys() -> None:
    """A client that never drains holds at most one frame per key, whatever the rate."""
    buffer = LatestPerKeyBuffer(limit=1000)
    for i in range(100_000):
        buffer.offer(f"key-{i % 50}", f"frame-{i}")
    assert len(buffer) == 50
    assert buffer.superseded == 100_000 - 50
    assert not buffer.needs_resync


def test_overflow_empties_and_requests_a_resync() -> None:
    buffer = LatestPerKeyBuffer(limit=3)
    for key in "abc":
        buffer.offer(key, key)
    assert buffer.offer("d", "d") is Offer.OVERFLOW
    assert len(buffer) == 0
    assert buffer.overflows == 1
    assert bool(buffer)  # still has work: the resync
    assert buffer.take_resync() is True
    assert buffer.take_resync() is False


def test_snapshot_supersedes_pending_updates_of_its_keys() -> None:
    buffer = LatestPerKeyBuffer(limit=10)
    buffer.offer("a", "a1")
    buffer.offer("z", "z1")
    dropped = buffer.offer_snapshot("\x00snapshot:s", "snap", ["a", "b"])
    assert dropped == 1
    buffer.offer("a", "a2")  # newer than the snapshot: goes after it
    assert [buffer.pop(), buffer.pop(), buffer.pop()] == [
        ("z", "z1"),
        ("\x00snapshot:s", "snap"),
        ("a", "a2"),
    ]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LatestPerKeyBuffer(limit=0)
