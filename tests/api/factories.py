"""Builders of output messages for the API tests, on the real reference data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache

from schemas.messages import (
    AlertEvent,
    AlertRule,
    AlertState,
    Counts,
    Measures,
    ScopeRollup,
    WardState,
    WindowOccupancy,
)
from schemas.reference import ReferenceData, load_reference
from schemas.targets import TargetConfig, load_targets
from schemas.types import PressureLevel

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)

# Two regions with a hospital each, used throughout the tests.
STOCKHOLM = "01"
UPPSALA = "03"
KAROLINSKA = "SE2321000016-H001"
HUDDINGE = "SE2321000016-H002"
AKADEMISKA = "SE2321000024-H001"


@lru_cache(maxsize=1)
def reference() -> ReferenceData:
    return load_reference()


@lru_cache(maxsize=1)
def targets() -> TargetConfig:
    sparse = frozenset(r.code for r in reference().regions.values() if r.sparse)
    return load_targets(sparse_regions=sparse)


def wards_of(hospital_id: str, n: int = 3) -> list[str]:
    return [w.ward_id for w in reference().wards_of_hospital(hospital_id)[:n]]


def _window(seconds: int) -> WindowOccupancy:
    return WindowOccupancy(window_s=seconds, patient_seconds=0.0, bed_seconds=0.0, occupancy=None)


def counts(available: int, occupied: int) -> Counts:
    return Counts(
        available_beds=available,
        occupied=occupied,
        free_beds=max(0, available - occupied),
        overcrowded=max(0, occupied - available),
        outlying_hosted=0,
        placed_elsewhere=0,
        pending_admissions=0,
        expected_discharges_24h=0,
    )


def measures(available: int, occupied: int) -> Measures:
    return Measures(
        occupancy=occupied / available if available else None,
        free_after_pending=available - occupied,
        overcrowded_per_100=None,
        outlying_per_100=None,
        occupancy_1h=_window(3600),
        occupancy_24h=_window(86400),
        occupancy_7d=_window(7 * 86400),
    )


def ward_state(
    ward_id: str,
    *,
    available: int = 20,
    occupied: int = 15,
    version: int = 1,
    as_of: datetime = NOW,
    stale: bool = False,
) -> WardState:
    ward = reference().wards[ward_id]
    hospital = reference().hospitals[ward.hospital_id]
    return WardState(
        ward_id=ward_id,
        hospital_id=ward.hospital_id,
        region_code=hospital.region_code,
        care_type=ward.care_type.value,
        specialty=ward.specialty,
        version=version,
        as_of=as_of,
        last_reported_at=as_of,
        expected_interval_s=ward.reporting_interval_s,
        stale=stale,
        counts=counts(available, occupied),
        measures=measures(available, occupied),
        target=0.85,
        pressure_level=PressureLevel.NORMAL,
    )


def rollup(
    scope_id: str,
    care_type: str = "all",
    *,
    available: int = 100,
    occupied: int = 80,
    version: int = 1,
    as_of: datetime = NOW,
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
        counts=counts(available, occupied),
        measures=measures(available, occupied),
        target=target,
        pressure_level=PressureLevel.NORMAL,
    )


def alert(
    scope_id: str,
    region_code: str | None,
    *,
    state: AlertState = AlertState.RAISED,
    sequence: int = 1,
    alert_id: uuid.UUID | None = None,
    occurred_at: datetime = NOW,
) -> AlertEvent:
    return AlertEvent(
        alert_id=alert_id or uuid.uuid4(),
        sequence=sequence,
        state=state,
        rule=AlertRule.PRESSURE,
        scope_id=scope_id,
        care_type="all",
        region_code=region_code,
        level=PressureLevel.STRAINED,
        value=0.9,
        threshold=0.85,
        occurred_at=occurred_at,
        raised_at=NOW,
        message="Beläggning över målvärdet",
    )
