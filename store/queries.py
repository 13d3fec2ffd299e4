"""What the API serves from the history database: plain async functions with typed results.

Every function takes an open ``psycopg.AsyncConnection`` (from a pool, typically) and reads the
aggregates the maintenance loop keeps (schemas/sql/020_aggregates.sql), never the raw history:
so each answer is an index range scan of at most a few thousand rows.

Times are aware datetimes (stored UTC); calendar days are Europe/Stockholm days (DOMAIN.md).
Buckets without data are absent from the results, not zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal

import psycopg
from psycopg import sql

from schemas.messages import AlertEvent, AlertRule, AlertState
from schemas.types import ALL_CARE_TYPES, PressureLevel
from store.aggregates import STOCKHOLM

AsyncConn = psycopg.AsyncConnection[Any]


class Bucket(StrEnum):
    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"  # a Europe/Stockholm calendar day (23, 24 or 25 hours)


_BUCKET_SECONDS = {Bucket.FIVE_MINUTES: 300.0, Bucket.HOUR: 3600.0}
_BUCKET_TABLE = {Bucket.FIVE_MINUTES: "occupancy_5m", Bucket.HOUR: "occupancy_hourly"}


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One bucket of a scope's history.

    ``occupancy`` is time-weighted: ∫occupied dt / ∫available dt over the bucket (ratio of sums
    over the scope's wards). The counts are time-weighted means over the whole bucket, time
    without a known ward state counting as nothing; ``coverage`` says how much of the ward-time
    was known (1.0: every ward that reported in the bucket was known all through it).
    """

    t: datetime
    occupancy: float | None
    available_beds: float
    occupied: float
    overcrowded: float
    outlying_hosted: float
    ward_count: int
    coverage: float | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    event: AlertEvent
    acknowledged: bool  # any acknowledgement of this alert so far


@dataclass(frozen=True, slots=True)
class ComplianceRow:
    """Share of the known time a region (or the nation) spent above its occupancy target."""

    scope_id: str
    care_type: str
    period_start: date  # first day of the Europe/Stockholm day or month
    above_target_seconds: float
    covered_seconds: float

    @property
    def share_above(self) -> float | None:
        return self.above_target_seconds / self.covered_seconds if self.covered_seconds else None


@dataclass(frozen=True, slots=True)
class DailySnapshot:
    """The 06:00 Europe/Stockholm count, comparable to SKR's morning measurement."""

    day: date
    scope_id: str
    care_type: str
    taken_at: datetime
    ward_count: int
    available_beds: int
    occupied: int
    overcrowded: int
    outlying_hosted: int
    overcrowded_per_100: float | None
    outlying_per_100: float | None


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=STOCKHOLM).astimezone(UTC)


def _days_starting_in(start: datetime, end: datetime) -> tuple[date, date]:
    """[first, after_last) of the local days whose midnight lies in [start, end)."""
    first = start.astimezone(STOCKHOLM).date()
    if local_midnight(first) < start:
        first += timedelta(days=1)
    last = end.astimezone(STOCKHOLM).date()
    after_last = last + timedelta(days=1) if local_midnight(last) < end else last
    return first, max(first, after_last)


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("history queries take timezone-aware datetimes")


def _point(
    t: datetime,
    seconds: float,
    patient: float,
    beds: float,
    overcrowded: float,
    outlying: float,
    covered: float,
    ward_count: int,
) -> HistoryPoint:
    return HistoryPoint(
        t=t,
        occupancy=patient / beds if beds > 0 else None,
        available_beds=beds / seconds,
        occupied=patient / seconds,
        overcrowded=overcrowded / seconds,
        outlying_hosted=outlying / seconds,
        ward_count=ward_count,
        coverage=covered / (seconds * ward_count) if ward_count else None,
    )


async def history(
    conn: AsyncConn,
    scope_id: str,
    *,
    start: datetime,
    end: datetime,
    bucket: Bucket,
    care_type: str = ALL_CARE_TYPES,
) -> list[HistoryPoint]:
    """Buckets of ``scope_id`` starting in [start, end), oldest first.

    Ward scopes (``ward:<id>``) are stored once, under care type ``all``: their care type is
    the ward's own, so ``care_type`` is ignored for them.
    """
    _require_aware(start, end)
    if scope_id.startswith("ward:"):
        care_type = ALL_CARE_TYPES
    if bucket is Bucket.DAY:
        first, after_last = _days_starting_in(start, end)
        cur = await conn.execute(
            """
            SELECT day, patient_seconds, bed_seconds, overcrowded_seconds, outlying_seconds,
                   covered_seconds, ward_count
            FROM occupancy_daily
            WHERE scope_id = %s AND care_type = %s AND day >= %s AND day < %s
            ORDER BY day
            """,
            (scope_id, care_type, first, after_last),
        )
        points = []
        for day, *values in await cur.fetchall():
            midnight = local_midnight(day)
            seconds = (local_midnight(day + timedelta(days=1)) - midnight).total_seconds()
            points.append(_point(midnight, seconds, *values))
        return points
    query = sql.SQL(
        """
        SELECT bucket, patient_seconds, bed_seconds, overcrowded_seconds, outlying_seconds,
               covered_seconds, ward_count
        FROM {table}
        WHERE scope_id = %s AND care_type = %s AND bucket >= %s AND bucket < %s
        ORDER BY bucket
        """
    ).format(table=sql.Identifier(_BUCKET_TABLE[bucket]))
    cur = await conn.execute(query, (scope_id, care_type, start, end))
    seconds = _BUCKET_SECONDS[bucket]
    return [_point(t, seconds, *values) for t, *values in await cur.fetchall()]


_ALERT_FIELDS = (
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


async def alert_history(
    conn: AsyncConn,
    *,
    region_code: str | None = None,
    scope_id: str | None = None,
    rule: AlertRule | None = None,
    state: AlertState | None = None,
    min_level: PressureLevel | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    active_only: bool = False,
    limit: int = 100,
) -> list[AlertRecord]:
    """Alert lifecycle events, newest first.

    ``active_only``: one record per alert not yet resolved (its newest event), newest raised
    first; ``start``/``end`` then bound when it was raised. Otherwise every lifecycle event,
    ``start``/``end`` bounding when it occurred.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    time_column = "raised_at" if active_only else "occurred_at"
    conditions: list[sql.Composable] = []
    params: list[object] = []
    if active_only:
        conditions.append(sql.SQL("a.state <> 'resolved'"))
    for column, value in (
        ("region_code", region_code),
        ("scope_id", scope_id),
        ("rule", rule.value if rule else None),
        ("state", state.value if state else None),
    ):
        if value is not None:
            conditions.append(sql.SQL("a.{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if min_level is not None:
        conditions.append(sql.SQL("a.level >= %s"))
        params.append(int(min_level))
    if start is not None:
        _require_aware(start)
        conditions.append(sql.SQL("a.{} >= %s").format(sql.Identifier(time_column)))
        params.append(start)
    if end is not None:
        _require_aware(end)
        conditions.append(sql.SQL("a.{} < %s").format(sql.Identifier(time_column)))
        params.append(end)
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    fields = sql.SQL(", ").join(sql.SQL("a.{}").format(sql.Identifier(f)) for f in _ALERT_FIELDS)
    if active_only:
        query = sql.SQL(
            "SELECT {fields}, a.acknowledged FROM alert_latest a WHERE {where} "
            "ORDER BY a.raised_at DESC, a.alert_id LIMIT %s"
        ).format(fields=fields, where=where)
    else:
        query = sql.SQL(
            "SELECT {fields}, coalesce(l.acknowledged, false) FROM alert_events a "
            "LEFT JOIN alert_latest l ON l.alert_id = a.alert_id WHERE {where} "
            "ORDER BY a.occurred_at DESC, a.sequence DESC LIMIT %s"
        ).format(fields=fields, where=where)
    cur = await conn.execute(query, (*params, limit))
    records = []
    for row in await cur.fetchall():
        values = dict(zip(_ALERT_FIELDS, row[:-1], strict=True))
        records.append(AlertRecord(AlertEvent.model_validate(values), bool(row[-1])))
    return records


async def compliance(
    conn: AsyncConn,
    *,
    period: Literal["day", "month"],
    start: date,
    end: date,
    region_code: str | None = None,
    care_type: str | None = None,
    include_nation: bool = True,
) -> list[ComplianceRow]:
    """Per region (and the nation) and care type, time above target per local day or month,
    over the local days [start, end). A month only partly inside the range sums that part."""
    if period not in ("day", "month"):
        raise ValueError("period is 'day' or 'month'")
    conditions = [sql.SQL("bucket >= %s"), sql.SQL("bucket < %s")]
    params: list[object] = [period, local_midnight(start), local_midnight(end)]
    if region_code is not None:
        conditions.append(
            sql.SQL("(scope_id = %s OR scope_id = 'nation')")
            if include_nation
            else sql.SQL("scope_id = %s")
        )
        params.append(f"region:{region_code}")
    elif not include_nation:
        conditions.append(sql.SQL("scope_id <> 'nation'"))
    if care_type is not None:
        conditions.append(sql.SQL("care_type = %s"))
        params.append(care_type)
    query = sql.SQL(
        """
        SELECT scope_id, care_type,
               date_trunc(%s, bucket AT TIME ZONE 'Europe/Stockholm')::date AS period_start,
               sum(above_target_seconds), sum(covered_seconds)
        FROM compliance_hourly
        WHERE {where}
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        """
    ).format(where=sql.SQL(" AND ").join(conditions))
    cur = await conn.execute(query, params)
    return [ComplianceRow(*row) for row in await cur.fetchall()]


async def daily_snapshots(
    conn: AsyncConn,
    scope_id: str,
    *,
    start: date,
    end: date,
    care_type: str = ALL_CARE_TYPES,
) -> list[DailySnapshot]:
    """The 06:00 series of ``scope_id`` for the local days [start, end), oldest first."""
    if scope_id.startswith("ward:"):
        care_type = ALL_CARE_TYPES
    cur = await conn.execute(
        """
        SELECT day, scope_id, care_type, taken_at, ward_count, available_beds, occupied,
               overcrowded, outlying_hosted, overcrowded_per_100, outlying_per_100
        FROM daily_snapshot
        WHERE scope_id = %s AND care_type = %s AND day >= %s AND day < %s
        ORDER BY day
        """,
        (scope_id, care_type, start, end),
    )
    return [DailySnapshot(*row) for row in await cur.fetchall()]
