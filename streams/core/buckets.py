"""Finalised patient-time and bed-time in fixed-size buckets.

A ``Buckets`` holds, for contiguous buckets of ``size`` seconds starting at ``start``, the
integral of occupied beds (patient-seconds) and of available beds (bed-seconds) over the
bucket, as exact integers (event times are whole seconds). Integers keep sums exact, so
the order in which segments arrive never changes a bucket and rollups by delta never drift.

Stored flat, ``[p0, b0, p1, b1, ...]``: a week of hourly buckets is ~2 KB of JSON.
"""

from __future__ import annotations

__all__ = ["Buckets", "floor_to"]


def floor_to(t: int, size: int) -> int:
    """Start of the ``size``-second bucket holding ``t`` (epoch seconds)."""
    return t - t % size


class Buckets:
    __slots__ = ("data", "size", "start")

    def __init__(self, size: int, start: int | None = None, data: list[int] | None = None) -> None:
        self.size = size
        self.start = start  # None while empty
        self.data: list[int] = data if data is not None else []

    def copy(self) -> Buckets:
        return Buckets(self.size, self.start, self.data.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Buckets):
            return NotImplemented
        return (self.size, self.start, self.data) == (other.size, other.start, other.data)

    def __repr__(self) -> str:
        return f"Buckets(size={self.size}, start={self.start}, n={len(self.data) // 2})"

    def add_amount(self, t: int, patient_seconds: int, bed_seconds: int) -> None:
        """Add already-integrated amounts to the bucket holding ``t``."""
        size = self.size
        first = t - t % size
        data = self.data
        if self.start is None:
            self.start = first
        elif first < self.start:
            data[:0] = [0, 0] * ((self.start - first) // size)
            self.start = first
        i = 2 * ((first - self.start) // size)
        if i >= len(data):
            data.extend([0] * (i + 2 - len(data)))
        data[i] += patient_seconds
        data[i + 1] += bed_seconds

    def sum_range(self, a: int, b: int) -> tuple[int, int]:
        """Sums over the buckets starting in ``[a, b)`` (both multiples of ``size``)."""
        start = self.start
        if start is None or b <= a:
            return 0, 0
        i = max(0, (a - start) // self.size)
        j = max(0, (b - start) // self.size)
        if j <= i:
            return 0, 0
        data = self.data
        return sum(data[2 * i : 2 * j : 2]), sum(data[2 * i + 1 : 2 * j : 2])

    def trim_before(self, t: int) -> None:
        """Forget buckets that start before ``t`` (a multiple of ``size``)."""
        start = self.start
        if start is None or t <= start:
            return
        drop = (t - start) // self.size
        if 2 * drop >= len(self.data):
            self.start = None
            self.data = []
            return
        del self.data[: 2 * drop]
        self.start = t

    def to_list(self) -> list[int] | None:
        if self.start is None:
            return None
        return [self.start, *self.data]

    @classmethod
    def from_list(cls, size: int, raw: list[int] | None) -> Buckets:
        if not raw:
            return cls(size)
        return cls(size, int(raw[0]), [int(x) for x in raw[1:]])
