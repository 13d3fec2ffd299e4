"""Valid outbound messages (schemas.messages) for the store tests and benchmarks."""

from __future__ import annotations

import uuid
from datetime import datetime

from schemas.messages import (
    AlertEvent,
    AlertRule,
    AlertState,
    Counts,
    InvalidEventRecord,
    InvalidReason,
    Measures,
    ScopeRollup,
    WardState,
    WindowOccupancy,
)
from schemas.types import PressureLevel


def _window(window_s: int, occupied: int, available: int) -> WindowOccupancy:
    return WindowOccupancy(
        window_s=window_s,
        patient_seconds=float(occupied * window_s),
        bed_seconds=float(available * window_s),
        occupancy=occupied / available if available else None,
    )


def counts(
    *, available: int, occupied: int, overcrowded: int = 0, outlying_hosted: int = 0
) -> Counts:
    return Counts(
        available_beds=available,
        occupied=occupied,
        free_beds=max(0, available - occupied),
        overcrowded=overcrowded,
        outlying_hosted=outlying_hosted,
        placed_elsewhere=0,
        pending_admissions=1,
        expected_discharges_24h=2,
        physical_beds=available + 2,
    )


def measures(*, available: int, occupied: int, overcrowded: int = 0, outlying: int = 0) -> Measures:
    return Measures(
        occupancy=occupied / available if available else None,
        free_after_pending=available - occupied - 1 + 2,
        overcrowded_per_100=100.0 * overcrowded / available if available else None,
        outlying_per_100=100.0 * outlying / available if available else None,
        occupancy_1h=_window(3600, occupied, available),
        occupancy_24h=_window(86400, occupied, available),
        occupancy_7d=_window(7 * 86400, occupied, available),
    )


def ward_state(
    *,
    ward_id: str = "SE2321000016-W001",
    hospital_id: str = "SE2321000016-H001",
    region_code: str = "01",
    care_type: str = "somatic_acute",
    version: int,
    as_of: datetime,
    available: int = 20,
    occupied: int = 18,
    overcrowded: int = 0,
    outlying_hosted: int = 0,
    expected_interval_s: int = 900,
    stale: bool = False,
) -> WardState:
    return WardState(
        ward_id=ward_id,
        hospital_id=hospital_id,
        region_code=region_code,
        care_type=care_type,
        specialty="internal_medicine",
        version=version,
        as_of=as_of,
        last_reported_at=as_of,
        expected_interval_s=expected_interval_s,
        stale=stale,
        counts=counts(
            available=available,
            occupied=occupied,
            overcrowded=overcrowded,
            outlying_hosted=outlying_hosted,
        ),
        measures=measures(
            available=available,
            occupied=occupied,
            overcrowded=overcrowded,
            outlying=outlying_hosted,
        ),
        target=0.85,
        pressure_level=PressureLevel.NORMAL,
    )


def rollup(
    *,
    scope_id: str = "region:01",
    care_type: str = "all",
    version: int,
    as_of: datetime,
    available: int = 200,
    occupied: int = 150,
    target: float = 0.85,
) -> ScopeRollup:
    return ScopeRollup(
        scope_id=scope_id,
        care_type=care_type,
        version=version,
        as_of=as_of,
        oldest_as_of=as_of,
        ward_count=10,
        wards_reporting=10,
        reporting_coverage=1.0,
        counts=counts(available=available, occupied=occupied),
        measures=measures(available=available, occupied=occupied),
        target=target,
        pressure_level=PressureLevel.NORMAL,
    )


def alert(
    *,
    alert_id: uuid.UUID,
    sequence: int,
    state: AlertState,
    occurred_at: datetime,
    raised_at: datetime,
    scope_id: str = "region:01",
    region_code: str | None = "01",
    level: PressureLevel = PressureLevel.STRAINED,
    acknowledged_by: str | None = None,
) -> AlertEvent:
    return AlertEvent(
        alert_id=alert_id,
        sequence=sequence,
        state=state,
        rule=AlertRule.PRESSURE,
        scope_id=scope_id,
        care_type="all",
        region_code=region_code,
        level=level,
        previous_level=None,
        value=0.9,
        threshold=0.85,
        occurred_at=occurred_at,
        raised_at=raised_at,
        message="Beläggningen är över riktvärdet",
        acknowledged_by=acknowledged_by,
    )


def invalid(
    *, received_at: datetime, reason: InvalidReason, raw: str | None = '{"x": 1}'
) -> InvalidEventRecord:
    return InvalidEventRecord(
        reason=reason,
        detail="rejected for a test",
        event_id=str(uuid.uuid4()),
        ward_id="SE2321000016-W001",
        source="test",
        received_at=received_at,
        origin="kafka:capmon.events/0@1",
        raw=raw,
    )
