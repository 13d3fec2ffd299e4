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

from simulator.emission import Emission


@dataclass(frozen=True, slots=True)
class Message:
    key: bytes  # the hospital id
    value: bytes
    events: int  # events it carries (a raw malformed message counts as one)
    ts: int  # simulated time of its newest event (for pacing)


class BatchEncoder:
    """Groups emissions per hospital into batches of ``batch_size`` events.

    ``batch_size == 1`` sends single event objects instead of batch objects (the other
    form the contract allows). With ``flush=True`` (the default) partial batches go out
    at the end of the call, so a paced run's latency is one tick, not one batch; a load
    test passes ``flush=False`` on slices of its events and keeps batches full.
    """

    def __init__(self, batch_size: int = 50) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.batch_size = batch_size
        self._keys: dict[str, bytes] = {}
        self._partial: dict[str, list[Emission]] = {}

    def _key(self, hospital_id: str) -> bytes:
        key = self._keys.get(hospital_id)
        if key is None:
            key = self._keys[hospital_id] = hospital_id.encode()
        return key

    def encode(self, emissions: Iterable[Emission], *, flush: bool = True) -> list[Message]:
        """Messages for these emissions (and partial batches held from earlier calls).

        Each hospital's events keep their order. Raw (non-JSON) payloads go on their own
        after the batches: they change no state, so their place does not matter.
        """
        size = self.batch_size
        dumps = orjson.dumps
        out: list[Message] = []
        if size == 1:
            for e in emissions:
                payload = e.payload
                value = payload if isinstance(payload, bytes) else dumps(payload)
                out.append(Message(self._key(e.hospital_id), value, 1, e.ts))
            return out
        groups = self._partial
        raw: list[Emission] = []
        for e in emissions:
            if e.payload.__class__ is bytes:
                raw.append(e)
                continue
            group = groups.get(e.hospital_id)
            if group is None:
                groups[e.hospital_id] = [e]
            else:
                group.append(e)
        keep: dict[str, list[Emission]] = {}
        for hospital_id, group in groups.items():
            key = self._key(hospital_id)
            source = group[0].source
            whole = len(group) if flush else len(group) - len(group) % size
            for i in range(0, whole, size):
                part = group[i : i + size]
                value = dumps(
                    {
                        "schema_version": 1,
                        "source": source,
                        "hospital_id": hospital_id,
                        "events": [e.payload for e in part],
                    }
                )
                out.append(Message(key, value, len(part), part[-1].ts))
            if whole < len(group):
                keep[hospital_id] = group[whole:]
        self._partial = keep
        for e in raw:
            payload = e.payload
            assert isinstance(payload, bytes)
            out.append(Message(self._key(e.hospital_id), payload, 1, e.ts))
        return out
