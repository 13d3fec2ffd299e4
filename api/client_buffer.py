"""A per-client send buffer that keeps only the latest frame per key (pure).

Live state is "latest value wins": a client that has not yet been sent the previous value
of a key does not need it any more once a newer one exists. So a slow client costs at
most one pending frame per key, and the frames themselves are shared text (serialized
once for all clients); the buffer only holds references.

A new value for a queued key replaces it *in place*, so a key that changes often cannot
starve the others. A snapshot replaces every queued update of the keys it contains (it is
newer than all of them). If the number of distinct pending keys reaches ``limit`` the
buffer gives up on incremental updates: it empties itself and asks for a resync (fresh
snapshots), which bounds memory whatever the client does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from enum import Enum


class Offer(Enum):
    QUEUED = "queued"
    SUPERSEDED = "superseded"  # replaced a pending frame of the same key
    DUPLICATE = "duplicate"  # the very same frame was already pending (e.g. via two channels)
    OVERFLOW = "overflow"  # too many pending keys: emptied, resync requested


class LatestPerKeyBuffer:
    __slots__ = ("_items", "limit", "needs_resync", "overflows", "superseded")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._items: OrderedDict[str, str] = OrderedDict()
        self.superseded = 0
        self.overflows = 0
        self.needs_resync = False

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items) or self.needs_resync

    def offer(self, key: str, frame: str) -> Offer:
        items = self._items
        pending = items.get(key)
        if pending is not None:
            if pending is frame:
                return Offer.DUPLICATE
            items[key] = frame
            self.superseded += 1
            return Offer.SUPERSEDED
        if len(items) >= self.limit:
            items.clear()
            self.overflows += 1
            self.needs_resync = True
            return Offer.OVERFLOW
        items[key] = frame
        return Offer.QUEUED

    def offer_snapshot(self, key: str, frame: str, covered_keys: Iterable[str]) -> int:
        """Queue a snapshot; pending updates of ``covered_keys`` are dropped (the snapshot
        is newer). Returns how many were dropped. A snapshot may exceed ``limit`` by one:
        it is the thing that brings a client back in sync."""
        items = self._items
        dropped = 0
        if items:
            for covered in covered_keys:
                if items.pop(covered, None) is not None:
                    dropped += 1
        self.superseded += dropped
        items.pop(key, None)
        items[key] = frame
        return dropped

    def pop(self) -> tuple[str, str] | None:
        if not self._items:
            return None
        return self._items.popitem(last=False)

    def take_resync(self) -> bool:
        """True once after an overflow: the owner must queue fresh snapshots."""
        if self.needs_resync:
            self.needs_resync = False
            return True
        return False

    def clear(self) -> None:
        self._items.clear()
