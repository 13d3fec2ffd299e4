"""Builders for the core's tests: wards, events with readable times, and an oracle.

Times are given as seconds after ``T0`` so tables stay readable. The oracle recomputes
the documented step function (streams/core/ward_state.py docstring) by brute force from
the set of events, independently of the incremental implementation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from schemas.events import (
    CapacityChange,
    CapacityReason,
    CensusSnapshot,
    Heartbeat,
    MovementAction,
    PatientMovement,
)
from schemas.reference import Ward
from schemas.types import CareType
from streams.core.config import CoreConfig
from streams.core.outputs import Output
from streams.core.ward_state import WardStateValue, apply_in_place

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # a Monday, 01:00 in Stockholm
T0_S = int(T0.timestamp())
HOSPITAL = "SE2321000016-H001"
WARD = "SE2321000016-W001"
OTHER_WARD = "SE2321000016-W002"
SOURCE = "test-adt"

_ids = itertools.count(1)


def new_id() -> UUID:
    return UUID(int=next(_ids))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_ward(
    ward_id: str = WARD,
    *,
    hospital_id: str = HOSPITAL,
    care_type: CareType = CareType.SOMATIC_ACUTE,
    typical_available_beds: int = 20,
    physical_beds: int = 24,
    reporting_interval_s: int = 3600,
) -> Ward:
    return Ward(
        ward_id=ward_id,
        hospital_id=hospital_id,
        name=f"Avdelning {ward_id[-4:]}",
        care_type=care_type,
        specialty="internmedicin",
        physical_beds=physical_beds,
        typical_available_beds=typical_available_beds,
        reporting_interval_s=reporting_interval_s,
    )


def census(
    t: float,
    occupied: int,
    available: int,
    *,
    ward_id: str = WARD,
    event_id: UUID | None = None,
    **fields: Any,
) -> CensusSnapshot:
    return CensusSnapshot(
        event_id=event_id or new_id(),
        source=SOURCE,
        ward_id=ward_id,
        occurred_at=at(t),
        occupied=occupied,
        available_beds=available,
        **fields,
    )


def movement(
    t: float,
    action: MovementAction | str,
    *,
    ward_id: str = WARD,
    event_id: UUID | None = None,
    outlying: bool = False,
    **fields: Any,
) -> PatientMovement:
    if outlying:
        fields.setdefault("responsible_ward_id", OTHER_WARD if ward_id != OTHER_WARD else WARD)
    return PatientMovement(
        event_id=event_id or new_id(),
        source=SOURCE,
        ward_id=ward_id,
        occurred_at=at(t),
        action=MovementAction(action),
        encounter_ref=f"enc-{next(_ids)}",
        **fields,
    )


def admit(t: float, **kw: Any) -> PatientMovement:
    return movement(t, "admit", **kw)


def discharge(t: float, **kw: Any) -> PatientMovement:
    return movement(t, "discharge", **kw)


def transfer_in(t: float, *, ward_id: str = WARD, **kw: Any) -> PatientMovement:
    other = OTHER_WARD if ward_id != OTHER_WARD else WARD
    return movement(t, "transfer", ward_id=ward_id, from_ward_id=other, to_ward_id=ward_id, **kw)


def transfer_out(t: float, *, ward_id: str = WARD, **kw: Any) -> PatientMovement:
    other = OTHER_WARD if ward_id != OTHER_WARD else WARD
    return movement(t, "transfer", ward_id=ward_id, from_ward_id=ward_id, to_ward_id=other, **kw)


def cancel(t: float, target: UUID, *, ward_id: str = WARD, **kw: Any) -> PatientMovement:
    return movement(t, "cancel", ward_id=ward_id, cancels_event_id=target, **kw)


def capacity(
    t: float,
    change: int,
    *,
    effective: float | None = None,
    ward_id: str = WARD,
    event_id: UUID | None = None,
) -> CapacityChange:
    return CapacityChange(
        event_id=event_id or new_id(),
        source=SOURCE,
        ward_id=ward_id,
        occurred_at=at(t),
        effective_at=at(effective) if effective is not None else None,
        change=change,
        reason=CapacityReason.STAFFING,
    )


def heartbeat(t: float, *, ward_id: str = WARD) -> Heartbeat:
    return Heartbeat(event_id=new_id(), source=SOURCE, ward_id=ward_id, occurred_at=at(t))


def run(
    events: Iterable[Any],
    *,
    ward: Ward | None = None,
    config: CoreConfig | None = None,
    state: WardStateValue | None = None,
) -> tuple[WardStateValue, list[Output]]:
    """Apply ``events`` in the given order (the fast in-place path)."""
    ward = ward or make_ward()
    config = config or CoreConfig()
    state = state or WardStateValue.new(ward, config)
    outputs: list[Output] = []
    for ev in events:
        outputs.extend(apply_in_place(state, ev, ward=ward, config=config))
    return state, outputs


# -- the oracle --------------------------------------------------------------------------


def _s(dt: datetime) -> int:
    return int(dt.timestamp())


@dataclass(frozen=True)
class OracleLevel:
    occupied: int
    available: int
    outlying: int
    overcrowded: int


class Oracle:
    """The documented step function by brute force over a set of accepted events."""

    def __init__(self, events: Sequence[Any], typical_available: int) -> None:
        seen: dict[UUID, Any] = {}
        for ev in events:
            seen.setdefault(ev.event_id, ev)
        evs = list(seen.values())
        self.typical = typical_available
        self.censuses = [e for e in evs if isinstance(e, CensusSnapshot)]
        cancelled = {
            e.cancels_event_id
            for e in evs
            if isinstance(e, PatientMovement) and e.action is MovementAction.CANCEL
        }
        self.moves: list[tuple[int, int, int]] = []  # (t, d_occ, d_out), not cancelled
        first: list[int] = []
        for e in evs:
            if isinstance(e, PatientMovement) and e.action is not MovementAction.CANCEL:
                first.append(_s(e.occurred_at))
                if e.event_id in cancelled:
                    continue
                if e.action is MovementAction.ADMIT:
                    d = 1
                elif e.action is MovementAction.DISCHARGE:
                    d = -1
                else:
                    d = 1 if e.to_ward_id == e.ward_id else -1
                self.moves.append((_s(e.occurred_at), d, d if e.is_outlying else 0))
        self.caps = [(_s(e.effective_time), e.change) for e in evs if isinstance(e, CapacityChange)]
        first += [c[0] for c in self.caps] + [_s(c.occurred_at) for c in self.censuses]
        self.first_known = min(first) if first else None
        self.change_points = sorted(set(first))

    def raw(self, t: int) -> tuple[int, int, int, int]:
        before = [c for c in self.censuses if _s(c.occurred_at) <= t]
        if before:
            c = max(before, key=lambda c: (_s(c.occurred_at), c.event_id.int))
            ct = _s(c.occurred_at)
            occ, avail, out = c.occupied, c.available_beds, c.outlying_hosted
            adj = (
                c.overcrowded - max(0, c.occupied - c.available_beds)
                if c.overcrowded is not None
                else 0
            )
        else:
            ct = None
            occ, avail, out, adj = 0, self.typical, 0, 0
        for mt, d, do in self.moves:
            if mt <= t and (ct is None or mt > ct):
                occ += d
                out += do
        for et, chg in self.caps:
            if et <= t and (ct is None or et > ct):
                avail += chg
        return occ, avail, out, adj

    def level(self, t: int) -> OracleLevel:
        occ, avail, out, adj = self.raw(t)
        o, a = max(0, occ), max(0, avail)
        return OracleLevel(o, a, max(0, out), max(0, max(0, o - a) + adj))

    def integral(self, a: int, b: int) -> tuple[int, int]:
        """∫occupied and ∫available over [a, b), from the first known time on."""
        if self.first_known is None:
            return 0, 0
        a = max(a, self.first_known)
        if b <= a:
            return 0, 0
        points = [a, *[p for p in self.change_points if a < p < b], b]
        p_sum = b_sum = 0
        for lo, hi in itertools.pairwise(points):
            lv = self.level(lo)
            p_sum += lv.occupied * (hi - lo)
            b_sum += lv.available * (hi - lo)
        return p_sum, b_sum


def window_start(state: WardStateValue, window_s: int, config: CoreConfig) -> int:
    """Where the implementation's window starts (exact inside the open part, else bucketed)."""
    assert state.wm is not None
    assert state.fin is not None
    start = state.wm - window_s
    if start >= state.fin:
        return start
    if start >= state.fin - config.coarse_bucket_s:
        return start - start % config.fine_bucket_s
    return start - start % config.coarse_bucket_s
