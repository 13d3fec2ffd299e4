"""One published event as the simulator knows it: payload plus what should become of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.messages import InvalidReason

Payload = dict[str, Any]


@dataclass(slots=True)
class Emission:
    """An event the simulator publishes.

    ``payload`` is the event as a JSON-ready dict (strings, ints, bools), or raw bytes for
    input that is not even JSON; raw bytes travel as a message of their own. ``ts`` is the
    simulated time of publishing, which is also ``occurred_at`` except for deliberately
    late or future-dated bad input. ``rejected`` is the reason the pipeline must give for
    refusing it, ``None`` for an event it must apply.
    """

    ts: int
    hospital_id: str
    source: str
    payload: Payload | bytes
    rejected: InvalidReason | None = None

    @property
    def ward_id(self) -> str | None:
        if isinstance(self.payload, bytes):
            return None
        ward = self.payload.get("ward_id")
        return ward if isinstance(ward, str) else None
