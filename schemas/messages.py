"""Outbound messages: what capmon emits on its output topics and pushes to clients.

Every message says which event time its values are based on (``as_of``) so any consumer
can show freshness; ratios are ``None`` where the denominator is zero (no available beds),
never a made-up 0 or infinity. Measures are defined in DOMAIN.md ("Measures").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.types import EventTime, PreparednessLevel, PressureLevel

MESSAGE_VERSION = 1


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message_version: Literal[1] = 1


class WindowOccupancy(BaseModel):
    """Time-weighted occupancy over a trailing window: ∫occupied dt / ∫available dt.

    The integrals travel with the ratio so that rollups sum integrals (ratio of sums).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: int
    patient_seconds: float = Field(ge=0)
    bed_seconds: float = Field(ge=0)
    occupancy: float | None = Field(description="patient_seconds / bed_seconds; null if no beds")


class Counts(BaseModel):
    """Additive counts: the part of a ward state that rollups sum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    available_beds: int = Field(description="Disponibla vårdplatser (staffed).")
    occupied: int
    free_beds: int = Field(description="Sum over wards of max(0, available - occupied).")
    overcrowded: int = Field(description="Överbeläggningar.")
    outlying_hosted: int = Field(description="Utlokaliserade patients cared for here.")
    placed_elsewhere: int = Field(description="Own patients cared for on other wards.")
    pending_admissions: int
    expected_discharges_24h: int
    physical_beds: int | None = None
    surge_beds_24h: int | None = None
    surge_beds_72h: int | None = None


class Measures(BaseModel):
    """Derived measures (DOMAIN.md) computed from Counts and window integrals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    occupancy: float | None = Field(description="occupied / available now; may exceed 1.0")
    free_after_pending: int = Field(
        description="available - occupied - pending admissions + expected discharges (24 h)"
    )
    overcrowded_per_100: float | None
    outlying_per_100: float | None
    occupancy_1h: WindowOccupancy
    occupancy_24h: WindowOccupancy
    occupancy_7d: WindowOccupancy


class WardState(_Message):
    """Latest state of one ward, on the compacted ``capmon.ward-state`` topic (key: ward id)."""

    kind: Literal["ward_state"] = "ward_state"
    ward_id: str
    hospital_id: str
    region_code: str
    care_type: str
    specialty: str
    version: int = Field(description="Increases with every change of this ward's state.")
    as_of: EventTime = Field(description="Event time of the newest event applied.")
    last_reported_at: EventTime | None = Field(
        description="Event time of the last event of any kind"
    )
    expected_interval_s: int
    stale: bool = Field(description="Silent past its expected reporting interval.")
    counts: Counts
    measures: Measures
    target: float = Field(description="Occupancy target (riktvärde) for this ward, 0..1.")
    pressure_level: PressureLevel
    late_events: int = Field(default=0, description="Movements older than the latest census.")


class ScopeRollup(_Message):
    """Sum over the wards of a scope and care type, on ``capmon.rollups``.

    Key: ``<scope_id>:<care_type>``, e.g. ``region:01:somatic_acute`` or ``nation:all``.
    """

    kind: Literal["rollup"] = "rollup"
    scope_id: str = Field(description="'nation', 'region:<code>' or 'hospital:<id>'")
    care_type: str = Field(description="a CareType value or 'all'")
    version: int
    as_of: EventTime = Field(description="Newest event time among the wards summed.")
    oldest_as_of: EventTime | None = Field(description="Oldest event time among the wards summed.")
    ward_count: int
    wards_reporting: int = Field(description="Wards that reported within their interval.")
    reporting_coverage: float | None = Field(description="wards_reporting / ward_count")
    counts: Counts
    measures: Measures
    target: float
    pressure_level: PressureLevel
    declared_preparedness: PreparednessLevel | None = None


class AlertState(StrEnum):
    """Lifecycle of one alert (cf. starlette's WebSocketState): every change is an event."""

    RAISED = "raised"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertRule(StrEnum):
    PRESSURE = "pressure"  # occupancy/overcrowding against target: levels 2-4
    STALE = "stale"  # a ward silent past its expected interval


class AlertEvent(_Message):
    """One change of an alert, on the compacted ``capmon.alerts`` topic (key: alert id)."""

    kind: Literal["alert"] = "alert"
    alert_id: UUID = Field(description="Stable for the life of the alert (raised..resolved).")
    sequence: int = Field(description="1 for raised, then +1 per lifecycle change.")
    state: AlertState
    rule: AlertRule
    scope_id: str
    care_type: str
    region_code: str | None = Field(description="Region the scope belongs to; null for nation.")
    level: PressureLevel
    previous_level: PressureLevel | None = None
    value: float | None = Field(description="The measured value that drove the change.")
    threshold: float | None = None
    occurred_at: EventTime = Field(description="Event time of the change.")
    raised_at: EventTime
    message: str = Field(description="Human-readable summary (Swedish).")
    acknowledged_by: str | None = None


class InvalidReason(StrEnum):
    """Reason codes of rejected input, shared by the stream and the HTTP ingest."""

    MALFORMED_JSON = "malformed_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_WARD = "unknown_ward"
    IMPLAUSIBLE_VALUE = "implausible_value"
    IN_FUTURE = "in_future"
    TOO_LATE = "too_late"
    DUPLICATE = "duplicate"
    PERSONAL_DATA = "personal_data"
    FORBIDDEN_WARD = "forbidden_ward"
    WRONG_HOSPITAL = "wrong_hospital"
    BATCH_TOO_LARGE = "batch_too_large"


class InvalidEventRecord(_Message):
    """A rejected event on ``capmon.invalid`` (key: ward id or 'unknown').

    ``raw`` is omitted when the payload held personal data: only the reason and the
    event id (if readable) survive.
    """

    kind: Literal["invalid"] = "invalid"
    reason: InvalidReason
    detail: str = Field(max_length=2000)
    event_id: str | None = None
    ward_id: str | None = None
    source: str | None = None
    received_at: EventTime = Field(
        description="Processing time of the rejection (timezone-aware; UTC by convention)."
    )
    origin: str = Field(description="'kafka:<topic>/<partition>@<offset>' or 'http'")
    raw: str | None = Field(default=None, max_length=100_000)


OUTBOUND_TYPES: tuple[type[_Message], ...] = (
    WardState,
    ScopeRollup,
    AlertEvent,
    InvalidEventRecord,
)
