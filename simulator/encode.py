"""Emissions to wire messages: ``EventBatch`` JSON per hospital, keyed by the hospital id.

The hot path of a load test. One orjson call serializes a whole batch of plain dicts
(never a pydantic model per event); a hospital's events keep their order within and
across its messages, which is all the pipeline needs (a ward's events share its
hospital's key and so its partition).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from simulator.emission import Emission, Payload


@dataclass(frozen=True, slots=True)
class Message:
    key: bytes  # the hospital id
    value: bytes
    events: int  # events it carries (a raw malformed message counts as one)
    ts: int  # simulated time of its newest event (for pacing)


class BatchEncoder:
    """Groups each chunk's emissions per hospital into batches of ``batch_size`` events.

    ``batch_size == 1`` sends single event objects instead of batch objects (the other
    form the contract allows). Partial batches are flushed at the end of every ``encode``
    call, so the latency of a paced run is one tick, not one batch.
    """

    def __init__(self, batch_size: int = 50) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.batch_size = batch_size
        self._keys: dict[str, bytes] = {}

    def _key(self, hospital_id: str) -> bytes:
        key = self._keys.get(hospital_id)
        if key is None:
            key = self._keys[hospital_id] = hospital_id.encode()
        return key

    def encode(self, emissions: Iterable[Emission]) -> list[Message]:
        size = self.batch_size
        dumps = orjson.dumps
        out: list[Message] = []
        if size == 1:
            for e in emissions:
                payload = e.payload
                value = payload if isinstance(payload, bytes) else dumps(payload)
                out.append(Message(self._key(e.hospital_id), value, 1, e.ts))
            return out
        pending: dict[str, tuple[str, list[Payload]]] = {}
        last_ts: dict[str, int] = {}
        for e in emissions:
            hospital_id = e.hospital_id
            payload = e.payload
            if isinstance(payload, bytes):
                # Not JSON: it cannot ride in a batch; flush first to keep the order.
                self._flush(out, pending, last_ts, hospital_id)
                out.append(Message(self._key(hospital_id), payload, 1, e.ts))
                continue
            entry = pending.get(hospital_id)
            if entry is None:
                entry = pending[hospital_id] = (e.source, [])
            events = entry[1]
            events.append(payload)
            last_ts[hospital_id] = e.ts
            if len(events) >= size:
                self._flush(out, pending, last_ts, hospital_id)
        for hospital_id in list(pending):
            self._flush(out, pending, last_ts, hospital_id)
        return out

    def _flush(
        self,
        out: list[Message],
        pending: dict[str, tuple[str, list[Payload]]],
        last_ts: dict[str, int],
        hospital_id: str,
    ) -> None:
        entry = pending.pop(hospital_id, None)
        if entry is None:
            return
        source, events = entry
        value = orjson.dumps(
            {"schema_version": 1, "source": source, "hospital_id": hospital_id, "events": events}
        )
        out.append(Message(self._key(hospital_id), value, len(events), last_ts[hospital_id]))
