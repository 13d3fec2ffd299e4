"""Bad input mixed into the stream, each piece labelled with the reason it must be refused.

Classes, taken in turn so that even a short run has every one of them:

- ``malformed_json``: not JSON at all (truncated, HL7 XML, a trailing comma, bad UTF-8);
  sent as a message of its own, as a broken sender would.
- ``schema_violation``: JSON that breaks the contract (negative count, missing field,
  a transfer to the same ward, a naive time, an unknown type, an extra field ...).
- ``duplicate``: an event of the same hospital published again, same event id.
- ``too_late``: a movement dated further back than the pipeline's lateness limit.
- ``personal_data``: a personnummer as the encounter reference or in the source name.
- ``unknown_ward``: a well-formed event for a ward no reference data knows.
- ``in_future``: an event dated ten years ahead.

Only duplicates repeat a valid event; everything else is new, so the ground truth can
leave them all out and expect the pipeline to reject exactly these, for these reasons.
"""

from __future__ import annotations

import random
from collections import deque

import orjson

from schemas.messages import InvalidReason
from simulator import payloads
from simulator.clock import DAY, HOUR, LocalCalendar
from simulator.emission import Emission, Payload
from simulator.ids import EventIds, synthetic_personnummer

BAD_CLASSES: tuple[InvalidReason, ...] = (
    InvalidReason.MALFORMED_JSON,
    InvalidReason.SCHEMA_VIOLATION,
    InvalidReason.DUPLICATE,
    InvalidReason.TOO_LATE,
    InvalidReason.PERSONAL_DATA,
    InvalidReason.UNKNOWN_WARD,
    InvalidReason.IN_FUTURE,
)
_FUTURE_S = 3650 * DAY
_RECENT_PER_HOSPITAL = 200
# Heartbeats and preparedness declarations are idempotent: the pipeline need not (and does
# not) reject a repeat of one, so only these are repeated as duplicates.
_DEDUPLICATED = frozenset({"census", "movement", "capacity"})


class BadInputInjector:
    """Called after every valid emission; now and then returns bad ones to publish next."""

    def __init__(
        self,
        *,
        rng: random.Random,
        ids: EventIds,
        calendar: LocalCalendar,
        share: float,
        lateness_s: int,
        ward_ids: list[str],
        known_ward_ids: set[str],
    ) -> None:
        self.rng = rng
        self.ids = ids
        self.calendar = calendar
        self.share = share
        self.lateness_s = lateness_s
        self.known_ward_ids = known_ward_ids
        self._recent: dict[str, deque[Emission]] = {}
        self._turn = 0
        self._variant: dict[InvalidReason, int] = {}
        self._serial = 0
        self.counts: dict[InvalidReason, int] = dict.fromkeys(BAD_CLASSES, 0)
        del ward_ids  # every bad event is aimed at the ward of the event it follows

    def after(self, emission: Emission) -> list[Emission]:
        recent = self._recent.get(emission.hospital_id)
        if recent is None:
            recent = self._recent[emission.hospital_id] = deque(maxlen=_RECENT_PER_HOSPITAL)
        payload = emission.payload
        if isinstance(payload, dict) and payload["type"] in _DEDUPLICATED:
            recent.append(emission)
        # Repeat only what the pipeline still remembers (well inside its lateness bound);
        # an older repeat would be refused as too late, not as a duplicate.
        horizon = emission.ts - self.lateness_s // 4
        while recent and recent[0].ts < horizon:
            recent.popleft()
        if self.rng.random() >= self.share:
            return []
        reason = BAD_CLASSES[self._turn % len(BAD_CLASSES)]
        self._turn += 1
        if reason is InvalidReason.DUPLICATE and not recent:
            reason = InvalidReason.TOO_LATE
        self.counts[reason] += 1
        variant = self._variant.get(reason, 0)
        self._variant[reason] = variant + 1
        payload = self._make(reason, variant, emission, recent)
        return [
            Emission(emission.ts, emission.hospital_id, emission.source, payload, rejected=reason)
        ]

    # ------------------------------------------------------------------ builders

    def _make(
        self, reason: InvalidReason, variant: int, e: Emission, recent: deque[Emission]
    ) -> Payload | bytes:
        ward_id = e.ward_id or ""
        if reason is InvalidReason.MALFORMED_JSON:
            return self._malformed(variant, e)
        if reason is InvalidReason.SCHEMA_VIOLATION:
            return self._schema_violation(variant, e, ward_id)
        if reason is InvalidReason.DUPLICATE:
            original = recent[self.rng.randrange(len(recent))]
            return original.payload
        if reason is InvalidReason.TOO_LATE:
            back = self.lateness_s + self.rng.randrange(HOUR, DAY)
            return self._admit(e, ward_id, e.ts - back, f"late.{self._next_serial()}")
        if reason is InvalidReason.PERSONAL_DATA:
            return self._personal_data(variant, e, ward_id)
        if reason is InvalidReason.UNKNOWN_WARD:
            unknown = f"SE9999999999-UNK{self._next_serial() % 10_000:04d}"
            assert unknown not in self.known_ward_ids  # the 9999 series is never issued
            return payloads.heartbeat(self.ids.next(), e.source, unknown, self.calendar.iso(e.ts))
        if reason is InvalidReason.IN_FUTURE:
            return payloads.heartbeat(
                self.ids.next(), e.source, ward_id, self.calendar.iso(e.ts + _FUTURE_S)
            )
        raise AssertionError(f"no builder for {reason}")

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _admit(self, e: Emission, ward_id: str, ts: int, ref: str) -> Payload:
        return payloads.movement(
            self.ids.next(),
            e.source,
            ward_id,
            self.calendar.iso(ts),
            "admit",
            ref,
            responsible_ward_id=ward_id,
        )

    def _malformed(self, variant: int, e: Emission) -> bytes:
        kind = variant % 4
        if kind == 0 and isinstance(e.payload, dict):
            whole = orjson.dumps(e.payload)
            return whole[: self.rng.randrange(1, len(whole) - 1)]
        if kind == 1:
            return b'<?xml version="1.0"?><ADT_A01><MSH/><PV1/></ADT_A01>'
        if kind == 2:
            return b'{"type": "heartbeat", "ward_id": "' + (e.ward_id or "").encode() + b'",}'
        return b'\xff\xfe{\x00"type\x00": \x00"census\x00"}'

    def _schema_violation(self, variant: int, e: Emission, ward_id: str) -> Payload:
        iso = self.calendar.iso(e.ts)
        kind = variant % 9
        base = payloads.heartbeat(self.ids.next(), e.source, ward_id, iso)
        if kind == 0:
            return payloads.census(
                base["event_id"], e.source, ward_id, iso,
                available_beds=20, occupied=-1, outlying_hosted=0, placed_elsewhere=0,
                pending_admissions=0, expected_discharges_24h=0, physical_beds=20,
                surge_beds_24h=2, surge_beds_72h=4,
            )  # fmt: skip
        if kind == 1:
            admit = self._admit(e, ward_id, e.ts, "x")
            del admit["encounter_ref"]
            return admit
        if kind == 2:
            return payloads.transfer(
                base["event_id"], e.source, ward_id, iso, f"bad.{self._next_serial()}",
                from_ward_id=ward_id, to_ward_id=ward_id, responsible_ward_id=None,
            )  # fmt: skip
        if kind == 3:
            return {**base, "occurred_at": iso[:19]}  # no offset: whose local time?
        if kind == 4:
            return {**base, "type": "bed_status", "status": "U"}
        if kind == 5:
            return {**base, "comment": "extra field"}
        if kind == 6:
            capacity = payloads.capacity(
                base["event_id"], e.source, ward_id, iso, change=1, reason="staffing"
            )
            return {**capacity, "change": 0}
        if kind == 7:
            return {**base, "event_id": "not-a-uuid"}
        discharge = payloads.movement(
            base["event_id"], e.source, ward_id, iso, "discharge", f"bad.{self._next_serial()}",
            responsible_ward_id=ward_id,
        )  # fmt: skip
        return {**discharge, "cancels_event_id": self.ids.next()}

    def _personal_data(self, variant: int, e: Emission, ward_id: str) -> Payload:
        kind = variant % 4
        number = synthetic_personnummer(self.rng, with_century=kind != 1)
        if kind == 2:
            admit = self._admit(e, ward_id, e.ts, f"pd.{self._next_serial()}")
            return {**admit, "source": f"{e.source} {number}"}
        if kind == 3:
            number = number.replace("-", "")
        return self._admit(e, ward_id, e.ts, number)
