"""Refreshing the aggregates for the hours the sink marked dirty.

The computations are SQL functions (schemas/sql/040_aggregate_functions.sql), identical on both
backends; this module decides what to recompute. One run, in one transaction:

1. lock up to ``max_hours`` rows of ``aggregate_dirty_hours`` (FOR UPDATE SKIP LOCKED: hours a
   sink is marking right now are left for the next run);
2. recompute occupancy_hourly, compliance_hourly and (for recent hours) occupancy_5m over each
   contiguous range of those hours;
3. recompute occupancy_daily for the Europe/Stockholm days they touch, and the 06:00 snapshot
   of each day whose 06:00 falls in one of them;
4. delete the rows it locked.

A sink that commits new rows for an hour being refreshed waits on that hour's lock (its mark is
an upsert) and re-marks it once this run has committed, so no committed row is ever missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import psycopg

log = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = timedelta(hours=1)
SNAPSHOT_TIME = time(6, 0)
# Serialises refresh runs: two runs touching the same local day would rewrite the same rows.
REFRESH_LOCK_KEY = 0x63617067
# The refresh sorts a day of ward states and groups them seven ways: in memory, not on disk.
REFRESH_WORK_MEM = "64MB"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    hours: int
    ranges: tuple[tuple[datetime, datetime], ...]
    days: tuple[date, ...]
    snapshot_days: tuple[date, ...]
    skipped_expired: int  # hours older than the raw history: marks dropped, nothing recomputed

    @property
    def empty(self) -> bool:
        return self.hours == 0 and self.skipped_expired == 0


def contiguous_ranges(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hour starts grouped into [start, end) ranges of consecutive hours."""
    ordered = sorted(set(hours))
    if not ordered:
        return []
    ranges = []
    start = ordered[0]
    for prev, cur in pairwise(ordered):
        if cur - prev != HOUR:
            ranges.append((start, prev + HOUR))
            start = cur
    ranges.append((start, ordered[-1] + HOUR))
    return ranges


def local_day(instant: datetime) -> date:
    return instant.astimezone(STOCKHOLM).date()


def snapshot_instant(day: date) -> datetime:
    """06:00 Europe/Stockholm on ``day``, as an aware UTC datetime."""
    return datetime.combine(day, SNAPSHOT_TIME, tzinfo=STOCKHOLM).astimezone(UTC)


def days_touched(hours: Iterable[datetime]) -> list[date]:
    """The Europe/Stockholm days the hour buckets belong to (hours tile local days)."""
    return sorted({local_day(h) for h in hours})


def snapshot_days(hours: Iterable[datetime]) -> list[date]:
    """Days whose 06:00 snapshot instant falls within one of the hour buckets."""
    dirty = set(hours)
    return [d for d in days_touched(dirty) if _hour_of(snapshot_instant(d)) in dirty]


def _hour_of(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days grouped into [first, after_last) ranges of consecutive days."""
    ordered = sorted(set(days))
    if not ordered:
        return []
    ranges = []
    start = ordered[0]
    for prev, cur in pairwise(ordered):
        if cur - prev != timedelta(days=1):
            ranges.append((start, prev + timedelta(days=1)))
            start = cur
    ranges.append((start, ordered[-1] + timedelta(days=1)))
    return ranges


async def _retention_bound(
    conn: psycopg.AsyncConnection[tuple[object, ...]], table: str, now: datetime
) -> datetime | None:
    cur = await conn.execute(
        "SELECT %s::timestamptz - retention FROM capmon_time_tables "
        "WHERE table_name = %s AND retention IS NOT NULL",
        (now, table),
    )
    row = await cur.fetchone()
    return row[0] if row else None  # type: ignore[return-value]


async def refresh_dirty(
    conn: psycopg.AsyncConnection[tuple[object, ...]],
    *,
    now: datetime,
    max_hours: int = 48,
) -> RefreshResult:
    """One refresh run (see the module docstring). ``conn`` must be in autocommit mode."""
    async with conn.transaction():
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        await conn.execute(f"SET LOCAL work_mem = '{REFRESH_WORK_MEM}'")
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK_KEY,))
        cur = await conn.execute(
            "SELECT hour FROM aggregate_dirty_hours ORDER BY hour LIMIT %s FOR UPDATE SKIP LOCKED",
            (max_hours,),
        )
        locked: list[datetime] = [row[0] for row in await cur.fetchall()]  # type: ignore[misc]
        if not locked:
            return RefreshResult(0, (), (), (), 0)

        # The raw history behind an hour may have been dropped: recomputing it would replace
        # good aggregates with partial ones. (A day's margin: the partition holding the hour.)
        raw_bound = await _retention_bound(conn, "ward_state_history", now)
        five_min_bound = await _retention_bound(conn, "occupancy_5m", now)
        expired = [h for h in locked if raw_bound is not None and h < raw_bound + timedelta(days=1)]
        hours = [h for h in locked if h not in set(expired)]

        ranges = contiguous_ranges(hours)
        for start, end in ranges:
            await conn.execute(
                "SELECT capmon_refresh_occupancy(interval '1 hour', %s, %s)", (start, end)
            )
            await conn.execute("SELECT capmon_refresh_compliance(%s, %s)", (start, end))
            recent_start = (
                start if five_min_bound is None else max(start, _hour_of(five_min_bound) + HOUR)
            )
            if recent_start < end:
                await conn.execute(
                    "SELECT capmon_refresh_occupancy(interval '5 minutes', %s, %s)",
                    (recent_start, end),
                )
        days = days_touched(hours)
        for first, after in day_ranges(days):
            await conn.execute("SELECT capmon_refresh_daily(%s, %s)", (first, after))
        snapshots = snapshot_days(hours)
        for day in snapshots:
            await conn.execute("SELECT capmon_refresh_snapshot(%s)", (day,))
        await conn.execute("DELETE FROM aggregate_dirty_hours WHERE hour = ANY(%s)", (locked,))
    if expired:
        log.warning(
            "dropped %d dirty hour(s) older than the raw history (%s .. %s): not recomputed",
            len(expired),
            min(expired).isoformat(),
            max(expired).isoformat(),
        )
    return RefreshResult(len(hours), tuple(ranges), tuple(days), tuple(snapshots), len(expired))


async def refresh_all_dirty(
    conn: psycopg.AsyncConnection[tuple[object, ...]], *, now: datetime, max_hours: int = 48
) -> list[RefreshResult]:
    """Refresh runs until no unlocked dirty hour is left."""
    results: list[RefreshResult] = []
    while True:
        result = await refresh_dirty(conn, now=now, max_hours=max_hours)
        if result.empty:
            return results
        results.append(result)


async def refresh_range(
    conn: psycopg.AsyncConnection[tuple[object, ...]],
    start: datetime,
    end: datetime,
    *,
    five_minute: bool = True,
) -> None:
    """Recompute every aggregate over [start, end) (hour-aligned), e.g. after a bulk load."""
    async with conn.transaction():
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK_KEY,))
        await conn.execute(
            "SELECT capmon_refresh_occupancy(interval '1 hour', %s, %s)", (start, end)
        )
        await conn.execute("SELECT capmon_refresh_compliance(%s, %s)", (start, end))
        if five_minute:
            await conn.execute(
                "SELECT capmon_refresh_occupancy(interval '5 minutes', %s, %s)", (start, end)
            )
        hours = [start + i * HOUR for i in range(int((end - start) / HOUR))]
        # A day only partly inside the range is summed from the hourly rows it has; the run
        # covering its other hours sums it again.
        for first, after in day_ranges(days_touched(hours)):
            await conn.execute("SELECT capmon_refresh_daily(%s, %s)", (first, after))
        for day in snapshot_days(hours):
            await conn.execute("SELECT capmon_refresh_snapshot(%s)", (day,))
