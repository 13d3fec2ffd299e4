"""Realistic, valid inbound events for the benchmarks, generated before any timing starts.

Every ward of the reference data gets a timeline: a census first (so the ward has a level),
then a census every reporting interval and admissions and discharges in between that keep
the ward near its usual occupancy, with a few outlying patients, cancels, capacity changes
and heartbeats. Times are whole seconds, strictly increasing per ward, and end just before
``end`` (never in the future, never too late: every ward's events are in event-time order).

Each hospital's events are cut into messages of ``events_per_message`` in time order (one
event object when 1, an ``EventBatch`` otherwise), keyed by hospital id like the
simulator's, and the messages of all hospitals are interleaved by time.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from schemas.reference import ReferenceData, Ward

# Shares of movement-time events that are not admissions or discharges.
CANCEL_SHARE = 0.01
CAPACITY_SHARE = 0.005
HEARTBEAT_SHARE = 0.01
OUTLYING_SHARE = 0.05


_DAYS: dict[int, str] = {}


def iso(ts: int) -> str:
    """``2025-01-13T08:15:00Z`` (strftime per event is the generator's biggest cost)."""
    day, second = divmod(ts, 86400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    hour, rest = divmod(second, 3600)
    minute, sec = divmod(rest, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{sec:02d}Z"


def source_of(hospital_id: str) -> str:
    return f"bench@{hospital_id}"


def event_id(rng: random.Random) -> str:
    """A random UUID in canonical form, without the cost of ``uuid.UUID``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


@dataclass(frozen=True, slots=True)
class Message:
    key: bytes
    value: bytes
    events: int
    first_at: int  # event time of its first event (epoch seconds)

    def as_tuple(self) -> tuple[bytes, bytes, int]:
        return self.key, self.value, self.events


def census(
    ward: Ward,
    at: int,
    *,
    eid: str,
    occupied: int,
    available: int,
    outlying: int = 0,
    pending: int = 0,
    discharges: int = 0,
) -> dict[str, object]:
    return {
        "type": "census",
        "event_id": eid,
        "schema_version": 1,
        "source": source_of(ward.hospital_id),
        "ward_id": ward.ward_id,
        "occurred_at": iso(at),
        "available_beds": available,
        "occupied": occupied,
        "overcrowded": max(0, occupied - available),
        "outlying_hosted": outlying,
        "pending_admissions": pending,
        "expected_discharges_24h": discharges,
        "physical_beds": ward.physical_beds,
    }


def movement(
    ward: Ward,
    at: int,
    *,
    eid: str,
    action: str,
    encounter: str,
    responsible: str | None = None,
    cancels: str | None = None,
) -> dict[str, object]:
    event: dict[str, object] = {
        "type": "movement",
        "event_id": eid,
        "schema_version": 1,
        "source": source_of(ward.hospital_id),
        "ward_id": ward.ward_id,
        "occurred_at": iso(at),
        "action": action,
        "encounter_ref": encounter,
    }
    if responsible is not None:
        event["responsible_ward_id"] = responsible
    if cancels is not None:
        event["cancels_event_id"] = cancels
    return event


class WardTimeline:
    """Generates one ward's events in time order, keeping its counts plausible."""

    def __init__(
        self,
        ward: Ward,
        siblings: list[str],
        rng: random.Random,
        tag: str,
        *,
        heartbeat_share: float = HEARTBEAT_SHARE,
    ) -> None:
        self.ward = ward
        self.heartbeat_share = heartbeat_share
        self.siblings = [s for s in siblings if s != ward.ward_id]
        self.rng = rng
        self.tag = tag
        self.available = max(1, ward.typical_available_beds)
        self.usual = max(1, round(self.available * rng.uniform(0.8, 0.97)))
        self.occupied = self.usual
        self.outlying = 0
        self.counter = 0
        self.last_census: int | None = None
        self.last_movement: tuple[str, str, bool] | None = None  # event id, action, outlying

    def census_now(self, at: int) -> dict[str, object]:
        self.last_census = at
        return census(
            self.ward,
            at,
            eid=event_id(self.rng),
            occupied=self.occupied,
            available=self.available,
            outlying=min(self.outlying, self.occupied),
            pending=self.rng.randint(0, 3),
            discharges=self.rng.randint(0, max(1, self.available // 5)),
        )

    def next(self, at: int) -> dict[str, object]:
        ward, rng = self.ward, self.rng
        if self.last_census is None or at - self.last_census >= ward.reporting_interval_s:
            return self.census_now(at)
        roll = rng.random()
        eid = event_id(rng)
        if roll < self.heartbeat_share:
            return {
                "type": "heartbeat",
                "event_id": eid,
                "schema_version": 1,
                "source": source_of(ward.hospital_id),
                "ward_id": ward.ward_id,
                "occurred_at": iso(at),
            }
        roll -= self.heartbeat_share
        if roll < CAPACITY_SHARE:
            change = rng.choice((-1, 1)) if self.available > 2 else 1
            if self.available + change > ward.physical_beds + 2:
                change = -1
            self.available += change
            return {
                "type": "capacity",
                "event_id": eid,
                "schema_version": 1,
                "source": source_of(ward.hospital_id),
                "ward_id": ward.ward_id,
                "occurred_at": iso(at),
                "change": change,
                "reason": "staffing",
            }
        roll -= CAPACITY_SHARE
        if roll < CANCEL_SHARE and self.last_movement is not None:
            target, action, outlying = self.last_movement
            self.last_movement = None
            self.occupied += -1 if action == "admit" else 1
            self.outlying += (-1 if action == "admit" else 1) if outlying else 0
            self.occupied = max(0, self.occupied)
            self.outlying = max(0, self.outlying)
            self.counter += 1
            return movement(
                ward,
                at,
                eid=eid,
                action="cancel",
                encounter=f"{self.tag}c{self.counter}",
                cancels=target,
            )
        # Drift back to the usual occupancy: admissions likelier below it.
        p_admit = min(0.9, max(0.1, 0.5 + (self.usual - self.occupied) / (2 * self.available)))
        ceiling = int(1.2 * self.available)
        admit = self.occupied == 0 or (rng.random() < p_admit and self.occupied < ceiling)
        self.counter += 1
        encounter = f"{self.tag}e{self.counter}"
        responsible = None
        outlying = False
        if admit:
            if self.siblings and rng.random() < OUTLYING_SHARE:
                responsible = rng.choice(self.siblings)
                outlying = True
                self.outlying += 1
            self.occupied += 1
        else:
            if self.outlying and rng.random() < self.outlying / max(1, self.occupied):
                self.outlying -= 1
                outlying = True
            self.occupied -= 1
        action = "admit" if admit else "discharge"
        self.last_movement = (eid, action, outlying)
        return movement(
            ward, at, eid=eid, action=action, encounter=encounter, responsible=responsible
        )


def _ward_events(
    ward: Ward,
    siblings: list[str],
    count: int,
    end: int,
    mean_gap_s: float,
    rng: random.Random,
    tag: str,
) -> list[tuple[int, dict[str, object]]]:
    gaps = [max(1, round(rng.expovariate(1 / mean_gap_s))) for _ in range(count)]
    at = end - sum(gaps)
    timeline = WardTimeline(ward, siblings, rng, tag)
    out: list[tuple[int, dict[str, object]]] = []
    for gap in gaps:
        at += gap
        out.append((at, timeline.next(at)))
    return out


def hospital_events(
    reference: ReferenceData,
    total_events: int,
    *,
    end: int,
    mean_gap_s: float = 300.0,
    seed: int = 1,
) -> dict[str, list[tuple[int, dict[str, object]]]]:
    """About ``total_events`` events over every ward (spread evenly), per hospital in time
    order. Each ward's events are ``mean_gap_s`` apart on average and end by ``end``."""
    rng = random.Random(seed)
    wards = sorted(reference.wards.values(), key=lambda w: w.ward_id)
    per_ward, extra = divmod(total_events, len(wards))
    out: dict[str, list[tuple[int, dict[str, object]]]] = {}
    siblings_of = {
        hid: [w.ward_id for w in reference.wards_of_hospital(hid)] for hid in reference.hospitals
    }
    for index, ward in enumerate(wards):
        count = per_ward + (1 if index < extra else 0)
        if count == 0:
            continue
        events = _ward_events(
            ward, siblings_of[ward.hospital_id], count, end, mean_gap_s, rng, f"w{index}"
        )
        out.setdefault(ward.hospital_id, []).extend(events)
    for events in out.values():
        events.sort(key=lambda pair: pair[0])  # stable: a ward's order is kept
    return out


def to_messages(
    per_hospital: dict[str, list[tuple[int, dict[str, object]]]], events_per_message: int
) -> list[Message]:
    """Cut each hospital's events into messages and interleave all hospitals by time."""
    streams: list[list[Message]] = []
    for hospital_id, events in per_hospital.items():
        key = hospital_id.encode()
        source = source_of(hospital_id)
        messages: list[Message] = []
        for start in range(0, len(events), events_per_message):
            chunk = events[start : start + events_per_message]
            if events_per_message == 1:
                value = orjson.dumps(chunk[0][1])
            else:
                value = orjson.dumps(
                    {
                        "schema_version": 1,
                        "source": source,
                        "hospital_id": hospital_id,
                        "events": [event for _, event in chunk],
                    }
                )
            messages.append(Message(key, value, len(chunk), chunk[0][0]))
        streams.append(messages)
    return list(heapq.merge(*streams, key=lambda m: m.first_at))


def generate(
    reference: ReferenceData,
    total_events: int,
    events_per_message: int,
    *,
    end: int,
    mean_gap_s: float = 300.0,
    seed: int = 1,
) -> list[Message]:
    return to_messages(
        hospital_events(reference, total_events, end=end, mean_gap_s=mean_gap_s, seed=seed),
        events_per_message,
    )


def message_events(messages: list[Message]) -> Iterator[int]:
    return (m.events for m in messages)
