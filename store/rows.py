"""Output-topic messages turned into rows of the history tables (pure: no I/O).

Values are the JSON of ``schemas.messages`` models, decoded with orjson and read field by field
rather than validated with pydantic: the producer is our own stream, validated on the way in,
and the sink must keep up with it. Timestamps stay ISO-8601 strings; PostgreSQL parses them
while copying. A message that does not have the expected shape raises ``MalformedMessageError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import orjson

# Counts and measures: the same columns in ward-state and rollup history (one definition).
_COUNTS_AND_MEASURES: tuple[tuple[str, str], ...] = (
    ("available_beds", "int4"),
    ("occupied", "int4"),
    ("free_beds", "int4"),
    ("overcrowded", "int4"),
    ("outlying_hosted", "int4"),
    ("placed_elsewhere", "int4"),
    ("pending_admissions", "int4"),
    ("expected_discharges_24h", "int4"),
    ("physical_beds", "int4"),
    ("surge_beds_24h", "int4"),
    ("surge_beds_72h", "int4"),
    ("occupancy", "float8"),
    ("free_after_pending", "int4"),
    ("overcrowded_per_100", "float8"),
    ("outlying_per_100", "float8"),
    ("patient_seconds_1h", "float8"),
    ("bed_seconds_1h", "float8"),
    ("patient_seconds_24h", "float8"),
    ("bed_seconds_24h", "float8"),
    ("patient_seconds_7d", "float8"),
    ("bed_seconds_7d", "float8"),
    ("target", "float8"),
    ("pressure_level", "int2"),
)

WARD_STATE_SPEC: tuple[tuple[str, str], ...] = (
    ("ward_id", "text"),
    ("as_of", "timestamptz"),
    ("version", "int8"),
    ("hospital_id", "text"),
    ("region_code", "text"),
    ("care_type", "text"),
    ("specialty", "text"),
    ("last_reported_at", "timestamptz"),
    ("expected_interval_s", "int4"),
    ("stale", "bool"),
    *_COUNTS_AND_MEASURES,
    ("late_events", "int4"),
)
WARD_STATE_COLUMNS = tuple(name for name, _ in WARD_STATE_SPEC)
WARD_STATE_TYPES = tuple(pg_type for _, pg_type in WARD_STATE_SPEC)

ROLLUP_SPEC: tuple[tuple[str, str], ...] = (
    ("scope_id", "text"),
    ("care_type", "text"),
    ("as_of", "timestamptz"),
    ("version", "int8"),
    ("oldest_as_of", "timestamptz"),
    ("ward_count", "int4"),
    ("wards_reporting", "int4"),
    ("reporting_coverage", "float8"),
    *_COUNTS_AND_MEASURES,
    ("declared_preparedness", "text"),
)
ROLLUP_COLUMNS = tuple(name for name, _ in ROLLUP_SPEC)
ROLLUP_TYPES = tuple(pg_type for _, pg_type in ROLLUP_SPEC)

ALERT_SPEC: tuple[tuple[str, str], ...] = (
    ("alert_id", "uuid"),
    ("sequence", "int4"),
    ("state", "text"),
    ("rule", "text"),
    ("scope_id", "text"),
    ("care_type", "text"),
    ("region_code", "text"),
    ("level", "int2"),
    ("previous_level", "int2"),
    ("value", "float8"),
    ("threshold", "float8"),
    ("occurred_at", "timestamptz"),
    ("raised_at", "timestamptz"),
    ("message", "text"),
    ("acknowledged_by", "text"),
)
ALERT_COLUMNS = tuple(name for name, _ in ALERT_SPEC)
ALERT_TYPES = tuple(pg_type for _, pg_type in ALERT_SPEC)

INVALID_SPEC: tuple[tuple[str, str], ...] = (
    ("received_at", "timestamptz"),
    ("kafka_partition", "int4"),
    ("kafka_offset", "int8"),
    ("reason", "text"),
    ("detail", "text"),
    ("event_id", "text"),
    ("ward_id", "text"),
    ("source", "text"),
    ("origin", "text"),
    ("raw", "text"),
)
INVALID_COLUMNS = tuple(name for name, _ in INVALID_SPEC)
INVALID_TYPES = tuple(pg_type for _, pg_type in INVALID_SPEC)

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


_timestamp = datetime.fromisoformat  # RFC 3339 with "Z" or an offset: aware


def _timestamp_or_none(value: str | None) -> datetime | None:
    return None if value is None else _timestamp(value)


_COUNTS = itemgetter(
    "available_beds",
    "occupied",
    "free_beds",
    "overcrowded",
    "outlying_hosted",
    "placed_elsewhere",
    "pending_admissions",
    "expected_discharges_24h",
)
_MEASURES = itemgetter(
    "occupancy",
    "free_after_pending",
    "overcrowded_per_100",
    "outlying_per_100",
    "occupancy_1h",
    "occupancy_24h",
    "occupancy_7d",
)
_WINDOW = itemgetter("patient_seconds", "bed_seconds")
# itemgetter reads many keys in one C call: the sink decodes every state the stream emits.
_WARD_HEAD = itemgetter(
    "ward_id",
    "as_of",
    "version",
    "hospital_id",
    "region_code",
    "care_type",
    "specialty",
    "expected_interval_s",
    "stale",
)


def _measured(counts: dict[str, Any], measures: dict[str, Any]) -> Row:
    """The Counts and Measures columns shared by ward states and rollups."""
    occupancy, free_after_pending, overcrowded_100, outlying_100, w1, w24, w7 = _MEASURES(measures)
    return (
        *_COUNTS(counts),
        counts.get("physical_beds"),
        counts.get("surge_beds_24h"),
        counts.get("surge_beds_72h"),
        occupancy,
        free_after_pending,
        overcrowded_100,
        outlying_100,
        *_WINDOW(w1),
        *_WINDOW(w24),
        *_WINDOW(w7),
    )


def ward_state_row(m: dict[str, Any]) -> Row:
    ward_id, as_of, version, hospital, region, care_type, specialty, interval, stale = _WARD_HEAD(m)
    return (
        ward_id,
        _timestamp(as_of),
        version,
        hospital,
        region,
        care_type,
        specialty,
        _timestamp_or_none(m.get("last_reported_at")),
        interval,
        stale,
        *_measured(m["counts"], m["measures"]),
        m["target"],
        m["pressure_level"],
        m.get("late_events", 0),
    )


def rollup_row(m: dict[str, Any]) -> Row:
    return (
        m["scope_id"],
        m["care_type"],
        _timestamp(m["as_of"]),
        m["version"],
        _timestamp_or_none(m.get("oldest_as_of")),
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
        UUID(m["alert_id"]),
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
        _timestamp(m["occurred_at"]),
        _timestamp(m["raised_at"]),
        m["message"],
        m.get("acknowledged_by"),
    )


def invalid_row(m: dict[str, Any], *, partition: int, offset: int) -> Row:
    reason = m["reason"]
    # Defence in depth: the producer already drops the payload of personal data (and the
    # table refuses it); a misbehaving producer must not get it stored either.
    raw = None if reason == PERSONAL_DATA else m.get("raw")
    return (
        _timestamp(m["received_at"]),
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
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedMessageError(f"{type(exc).__name__}: {exc}") from exc
