"""Micro-benchmark of the pure core's hot path (not a test): µs per call.

    python -m streams.core._bench_apply [--events 200000]

Prints one JSON line. Events are built beforehand (pydantic construction is the decoder's
cost, not the core's). The ward gets a realistic history first: a census every hour and a
movement every few minutes, within the default 6 h lateness bound.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from pydantic import TypeAdapter

from schemas.events import CensusSnapshot, Event, MovementAction, PatientMovement
from schemas.reference import Ward
from schemas.types import CareType
from streams.core.config import CoreConfig
from streams.core.rollup import ScopeState, ward_parts
from streams.core.ward_state import (
    WardStateValue,
    apply,
    apply_in_place,
    message_dict,
    to_message,
)

T0 = datetime(2025, 3, 3, tzinfo=UTC)
WARD = Ward(
    ward_id="SE2321000016-W001",
    hospital_id="SE2321000016-H001",
    name="Avdelning 1",
    care_type=CareType.SOMATIC_ACUTE,
    specialty="internmedicin",
    physical_beds=30,
    typical_available_beds=26,
    reporting_interval_s=3600,
)


def _events(n: int, step_s: int) -> list[Any]:
    out: list[Any] = []
    for i in range(n):
        at = T0 + timedelta(seconds=i * step_s)
        if i % (3600 // step_s) == 0:
            out.append(
                CensusSnapshot(
                    event_id=UUID(int=i + 1),
                    source="bench",
                    ward_id=WARD.ward_id,
                    occurred_at=at,
                    available_beds=26,
                    occupied=22 + i % 4,
                    pending_admissions=2,
                )
            )
        else:
            out.append(
                PatientMovement(
                    event_id=UUID(int=i + 1),
                    source="bench",
                    ward_id=WARD.ward_id,
                    occurred_at=at,
                    action=MovementAction.ADMIT if i % 2 else MovementAction.DISCHARGE,
                    encounter_ref=f"e{i}",
                    responsible_ward_id=WARD.ward_id if i % 5 else "SE2321000016-W002",
                )
            )
    return out


def _simulator_mix(hours: int) -> list[Any]:
    """The simulator's defaults for one ward: a census every 15 min, a heartbeat every
    5 min, a movement about every 20 min; decoded from JSON like the worker does (so
    datetimes carry pydantic's tzinfo)."""
    raw: list[dict[str, Any]] = []
    n = 0
    for minute in range(0, hours * 60):
        at = (T0 + timedelta(minutes=minute, seconds=(minute * 7) % 60)).isoformat()
        base = {"source": "bench", "ward_id": WARD.ward_id, "occurred_at": at}
        if minute % 15 == 0:
            n += 1
            raw.append(
                {
                    **base,
                    "event_id": str(UUID(int=n)),
                    "type": "census",
                    "available_beds": 26,
                    "occupied": 20 + minute % 5,
                }
            )
        elif minute % 5 == 0:
            n += 1
            raw.append({**base, "event_id": str(UUID(int=n)), "type": "heartbeat"})
        elif minute % 20 == 7:
            n += 1
            raw.append(
                {
                    **base,
                    "event_id": str(UUID(int=n)),
                    "type": "movement",
                    "action": "admit" if minute % 40 == 7 else "discharge",
                    "encounter_ref": f"e{n}",
                }
            )
    return list(TypeAdapter(list[Event]).validate_json(orjson.dumps(raw)))


def _per_call_us(fn: Callable[[], object], repeat: int, rounds: int = 3) -> float:
    """Best of ``rounds`` in CPU time (the machine is shared; wall time is noisier)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        best = min(best, time.process_time() - start)
    return best / repeat * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--step-s", type=int, default=300, help="event time between one ward's events"
    )
    args = parser.parse_args(argv)
    config = CoreConfig()

    # apply_in_place over a long in-order stream (finalisation whenever the watermark
    # crosses a 5-min boundary: every event at the default step)
    events = _events(args.events, args.step_s)
    apply_us = float("inf")
    for _ in range(3):
        state = WardStateValue.new(WARD, config)
        start = time.process_time()
        for ev in events:
            apply_in_place(state, ev, ward=WARD, config=config)
        apply_us = min(apply_us, (time.process_time() - start) / len(events) * 1e6)

    mix = _simulator_mix(24 * 21)
    mix_us = float("inf")
    for _ in range(3):
        mixed = WardStateValue.new(WARD, config)
        start = time.process_time()
        for ev in mix:
            apply_in_place(mixed, ev, ward=WARD, config=config)
        mix_us = min(mix_us, (time.process_time() - start) / len(mix) * 1e6)

    movements = [e for e in events if isinstance(e, PatientMovement)]
    # a late movement (1 h behind the watermark: inserted, later records recomputed)
    late_src = _events(3600 * 5 // args.step_s, args.step_s)
    late_state = WardStateValue.new(WARD, config)
    for ev in late_src:
        apply_in_place(late_state, ev, ward=WARD, config=config)
    late_events = [
        PatientMovement(
            event_id=UUID(int=10**9 + i),
            source="bench",
            ward_id=WARD.ward_id,
            occurred_at=T0 + timedelta(seconds=4 * 3600 + i % 600),
            action=MovementAction.ADMIT,
            encounter_ref=f"late{i}",
        )
        for i in range(2000)
    ]
    late_state.vector(0.85)
    late_us = float("inf")
    for _ in range(3):
        spent = 0.0
        for ev in late_events:
            fresh = late_state.copy()
            start = time.process_time()
            apply_in_place(fresh, ev, ward=WARD, config=config)
            fresh.vector(0.85)  # the recomputation a message forces
            spent += time.process_time() - start
        late_us = min(late_us, spent / len(late_events) * 1e6)

    dup = movements[-1]
    duplicate_us = _per_call_us(
        lambda: apply_in_place(state, dup, ward=WARD, config=config), 20_000
    )
    pure_us = _per_call_us(lambda: apply(state, dup, ward=WARD, config=config), 5_000)
    target = 0.85
    vector_us = _per_call_us(lambda: state.vector(target), 20_000)
    msg_dict_us = _per_call_us(
        lambda: message_dict(state, WARD, region_code="01", target=target), 20_000
    )
    msg_json_us = _per_call_us(
        lambda: orjson.dumps(message_dict(state, WARD, region_code="01", target=target)), 20_000
    )
    to_message_us = _per_call_us(
        lambda: to_message(state, WARD, region_code="01", target=target), 5_000
    )
    state_dict = state.to_dict()
    state_json = orjson.dumps(state_dict)
    to_dict_us = _per_call_us(lambda: orjson.dumps(state.to_dict()), 20_000)
    to_json_us = _per_call_us(state.to_json, 20_000)
    from_dict_us = _per_call_us(lambda: WardStateValue.from_dict(orjson.loads(state_json)), 2_000)

    hospital = ScopeState("hospital:SE2321000016-H001")
    for k in range(20):
        hospital.update(f"w{k}", 1, ward_parts(state, WARD.care_type, target))
    version = [1]

    def rollup_update() -> None:
        version[0] += 1
        hospital.update("w0", version[0], ward_parts(state, WARD.care_type, target))

    rollup_us = _per_call_us(rollup_update, 20_000)

    # A worker round as the wiring does it, per event: k events of one ward applied, then
    # one vector, one ward message (orjson), one changelog value and one rollup update.
    round_us: dict[str, float] = {}
    for k in (1, 5, 20):
        tail = _events(args.events + 20 * 400, args.step_s)[args.events :]
        ward_state = state.copy()
        hospital_round = ScopeState("hospital:x")
        best = float("inf")
        for _ in range(3):
            ws = ward_state.copy()
            start = time.process_time()
            for r in range(0, len(tail) - k, k):
                for ev in tail[r : r + k]:
                    apply_in_place(ws, ev, ward=WARD, config=config)
                vec = ws.vector(target)
                orjson.dumps(message_dict(ws, WARD, region_code="01", target=target, vector=vec))
                ws.to_json()
                hospital_round.update(
                    WARD.ward_id, ws.version, ward_parts(ws, WARD.care_type, target, vector=vec)
                )
            best = min(best, (time.process_time() - start) / (len(tail) - k) * 1e6)
        round_us[f"round_per_event_us_k{k}"] = round(best, 2)

    result = {
        "bench": "core_apply",
        "events": len(events),
        "records_kept": len(state_dict["recs"]),
        "state_bytes": len(state_json),
        "apply_in_place_us": round(apply_us, 2),
        "apply_simulator_mix_us": round(mix_us, 2),
        "simulator_mix_state_bytes": len(mixed.to_json()),
        "apply_late_movement_plus_vector_us": round(late_us, 2),
        "apply_duplicate_us": round(duplicate_us, 2),
        "apply_pure_us": round(pure_us, 2),
        "vector_us": round(vector_us, 2),
        "message_dict_us": round(msg_dict_us, 2),
        "message_json_us": round(msg_json_us, 2),
        "to_message_us": round(to_message_us, 2),
        "state_dumps_to_dict_us": round(to_dict_us, 2),
        "state_to_json_us": round(to_json_us, 2),
        "state_from_json_us": round(from_dict_us, 2),
        "rollup_update_us": round(rollup_us, 2),
        **round_us,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
