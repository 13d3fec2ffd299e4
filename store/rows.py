"""Output-topic messages turned into rows of the history tables (pure: no I/O).

Values are the JSON of ``schemas.messages`` models, decoded with orjson and read field by field
rather than validated with pydantic: the producer is our own stream, validated on the way in,
and the sink must keep up with it. Timestamps stay ISO-8601 strings; PostgreSQL parses them
while copying. A message that does not have the expected shape raises ``MalformedMessageError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

WARD_STATE_COLUMNS = (
    "ward_id",
    "as_of",
    "version",
    "hospital_id",
    "region_code",
    "care_type",
    "specialty",
    "last_reported_at",
    "expected_interval_s",
    "stale",
    "available_beds",
    "occupied",
    "free_beds",
    "overcrowded",
    "outlying_hosted",
    "placed_elsewhere",
    "pending_admissions",
    "expected_discharges_24h",
    "physical_beds",
    "surge_beds_24h",
    "surge_beds_72h",
    "occupancy",
    "free_after_pending",
    "overcrowded_per_100",
    "outlying_per_100",
    "patient_seconds_1h",
    "bed_seconds_1h",
    "patient_seconds_24h",
    "bed_seconds_24h",
    "patient_seconds_7d",
    "bed_seconds_7d",
    "target",
    "pressure_level",
    "late_events",
)

ROLLUP_COLUMNS = (
    "scope_id",
    "care_type",
    "as_of",
    "version",
    "oldest_as_of",
    "ward_count",
    "wards_reporting",
    "reporting_coverage",
    "available_beds",
    "occupied",
    "free_beds",
    "overcrowded",
    "outlying_hosted",
    "placed_elsewhere",
    "pending_admissions",
    "expected_discharges_24h",
    "physical_beds",
    "surge_beds_24h",
    "surge_beds_72h",
    "occupancy",
    "free_after_pending",
    "overcrowded_per_100",
    "outlying_per_100",
    "patient_seconds_1h",
    "bed_seconds_1h",
    "patient_seconds_24h",
    "bed_seconds_24h",
    "patient_seconds_7d",
    "bed_seconds_7d",
    "target",
    "pressure_level",
    "declared_preparedness",
)

ALERT_COLUMNS = (
    "alert_id",
    "sequence",
    "state",
    "rule",
    "scope_id",
    "care_type",
    "region_code",
    "level",
    "previous_level",
    "value",
    "threshold",
    "occurred_at",
    "raised_at",
    "message",
    "acknowledged_by",
)

INVALID_COLUMNS = (
    "received_at",
    "kafka_partition",
    "kafka_offset",
    "reason",
    "detail",
    "event_id",
    "ward_id",
    "source",
    "origin",
    "raw",
)

PERSONAL_DATA = "personal_data"

Row = tuple[Any, ...]


class MalformedMessageError(ValueError):
    """A record on an output topic that is not one of the outbound message types."""


@dataclass(slots=True)
class RowBatch:
    """Rows for each history table, in the column order of the ``*_COLUMNS`` tuples."""

    ward_states: list[Row] = field(default_factory=list)
    rollups: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)
    invalid: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ward_states) + len(self.rollups) + len(self.alerts) + len(self.invalid)

    def extend(self, other: RowBatch) -> None:
        self.ward_states += other.ward_states
        self.rollups += other.rollups
        self.alerts += other.alerts
        self.invalid += other.invalid


def _measured(counts: dict[str, Any], measures: dict[str, Any]) -> Row:
    """The Counts and Measures columns shared by ward states and rollups."""
    w1, w24, w7 = measures["occupancy_1h"], measures["occupancy_24h"], measures["occupancy_7d"]
    return (
        counts["available_beds"],
        counts["occupied"],
        counts["free_beds"],
        counts["overcrowded"],
        counts["outlying_hosted"],
        counts["placed_elsewhere"],
        counts["pending_admissions"],
        counts["expected_discharges_24h"],
        counts.get("physical_beds"),
        counts.get("surge_beds_24h"),
        counts.get("surge_beds_72h"),
        measures["occupancy"],
        measures["free_after_pending"],
        measures["overcrowded_per_100"],
        measures["outlying_per_100"],
        w1["patient_seconds"],
        w1["bed_seconds"],
        w24["patient_seconds"],
        w24["bed_seconds"],
        w7["patient_seconds"],
        w7["bed_seconds"],
    )


def ward_state_row(m: dict[str, Any]) -> Row:
    return (
        m["ward_id"],
        m["as_of"],
        m["version"],
        m["hospital_id"],
        m["region_code"],
        m["care_type"],
        m["specialty"],
        m.get("last_reported_at"),
        m["expected_interval_s"],
        m["stale"],
        *_measured(m["counts"], m["measures"]),
        m["target"],
        m["pressure_level"],
        m.get("late_events", 0),
    )


def rollup_row(m: dict[str, Any]) -> Row:
    return (
        m["scope_id"],
        m["care_type"],
        m["as_of"],
        m["version"],
        m.get("oldest_as_of"),
        m["ward_count"],
        m["wards_reporting"],
        m.get("reporting_coverage"),
        *_measured(m["counts"], m["measures"]),
        m["target"],
        m["pressure_level"],
        m.get("declared_preparedness"),
    )


def alert_row(m: dict[str, Any]) -> Row:
    return (
        m["alert_id"],
        m["sequence"],
        m["state"],
        m["rule"],
        m["scope_id"],
        m["care_type"],
        m.get("region_code"),
        m["level"],
        m.get("previous_level"),
        m.get("value"),
        m.get("threshold"),
        m["occurred_at"],
        m["raised_at"],
        m["message"],
        m.get("acknowledged_by"),
    )


def invalid_row(m: dict[str, Any], *, partition: int, offset: int) -> Row:
    reason = m["reason"]
    # Defence in depth: the producer already drops the payload of personal data (and the
    # table refuses it); a misbehaving producer must not get it stored either.
    raw = None if reason == PERSONAL_DATA else m.get("raw")
    return (
        m["received_at"],
        partition,
        offset,
        reason,
        m["detail"],
        m.get("event_id"),
        m.get("ward_id"),
        m.get("source"),
        m["origin"],
        raw,
    )


def add_message(batch: RowBatch, value: bytes, *, partition: int, offset: int) -> None:
    """Decode one record value and append its row to ``batch``; ``MalformedMessageError`` if not."""
    try:
        message = orjson.loads(value)
        kind = message["kind"]
        if kind == "ward_state":
            batch.ward_states.append(ward_state_row(message))
        elif kind == "rollup":
            batch.rollups.append(rollup_row(message))
        elif kind == "alert":
            batch.alerts.append(alert_row(message))
        elif kind == "invalid":
            batch.invalid.append(invalid_row(message, partition=partition, offset=offset))
        else:
            raise MalformedMessageError(f"unknown message kind {kind!r}")
    except MalformedMessageError:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise MalformedMessageError(f"{type(exc).__name__}: {exc}") from exc
