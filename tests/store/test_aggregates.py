"""Aggregates on the real PostgreSQL: hourly, 5-minute and daily time-weighted occupancy, the
06:00 snapshot and target compliance, against the pure core and an independent reference
(integration)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import psycopg
import pytest

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
from store.aggregates import STOCKHOLM, refresh_all_dirty, snapshot_instant
from store.rows import RowBatch, add_message
from store.writer import HistoryWriter
from streams.core.config import CoreConfig
from streams.core.ward_state import WardStateValue, apply_in_place, message_dict
from tests.store import factories

pytestmark = pytest.mark.integration

AsyncConn = psycopg.AsyncConnection[tuple[object, ...]]
HOUR = timedelta(hours=1)
FIVE_MIN = timedelta(minutes=5)
DAY_HOLD = timedelta(hours=24)


async def _write(url: str, messages: Iterable[bytes]) -> None:
    batch = RowBatch()
    for i, value in enumerate(messages):
        add_message(batch, value, partition=0, offset=i)
    writer = HistoryWriter(url)
    try:
        await writer.write(batch)
    finally:
        await writer.close()


async def _rows(
    conn: AsyncConn, query: str, params: Sequence[object] = ()
) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


# -- against the pure core --------------------------------------------------------------------

_CORE_T0 = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)


def _core_events(rng: random.Random, ward_id: str, interval_s: int) -> list[Any]:
    """A ward that reports at least once per interval: censuses, movements, capacity changes,
    then heartbeats long enough for the core to finalise every hour of the data."""

    def at(seconds: int) -> datetime:
        return _CORE_T0 + timedelta(seconds=seconds)

    common = {"source": "test", "ward_id": ward_id}
    events: list[Any] = [
        CensusSnapshot(
            event_id=UUID(int=rng.getrandbits(128)),
            occurred_at=at(0),
            occupied=15,
            available_beds=20,
            **common,
        )
    ]
    t = 0
    occupied = 15
    while t < 10 * 3600:
        t += rng.randint(60, interval_s - 60)
        kind = rng.random()
        eid = UUID(int=rng.getrandbits(128))
        if kind < 0.1:
            occupied = rng.randint(10, 26)
            events.append(
                CensusSnapshot(
                    event_id=eid,
                    occurred_at=at(t),
                    occupied=occupied,
                    available_beds=rng.choice([18, 20, 22]),
                    **common,
                )
            )
        elif kind < 0.15:
            events.append(
                CapacityChange(
                    event_id=eid,
                    occurred_at=at(t),
                    change=rng.choice([-2, 2]),
                    reason=CapacityReason.STAFFING,
                    **common,
                )
            )
        else:
            action = MovementAction.ADMIT if rng.random() < 0.5 else MovementAction.DISCHARGE
            events.append(
                PatientMovement(
                    event_id=eid, occurred_at=at(t), action=action, encounter_ref=f"e{t}", **common
                )
            )
    end_of_data = t
    # heartbeats every half interval: the ward never goes stale, fin passes the data
    while t < end_of_data + CoreConfig().lateness_s + 2 * 3600:
        t += interval_s // 2
        events.append(
            Heartbeat(event_id=UUID(int=rng.getrandbits(128)), occurred_at=at(t), **common)
        )
    return events


async def test_hourly_aggregate_equals_the_pure_core(aconn: AsyncConn, migrated_url: str) -> None:
    rng = random.Random(20260202)
    config = CoreConfig()
    ward = Ward(
        ward_id="SE2321000016-W101",
        hospital_id="SE2321000016-H101",
        name="Avdelning 101",
        care_type=CareType.SOMATIC_ACUTE,
        specialty="internmedicin",
        physical_beds=24,
        typical_available_beds=20,
        reporting_interval_s=1800,
    )
    state = WardStateValue.new(ward, config)
    messages = []
    for event in _core_events(rng, ward.ward_id, ward.reporting_interval_s):
        version = state.version
        assert not apply_in_place(state, event, ward=ward, config=config)
        if state.version != version:  # the stream emits a WardState on every change
            messages.append(orjson.dumps(message_dict(state, ward, region_code="01", target=0.85)))
    await _write(migrated_url, messages)
    await refresh_all_dirty(aconn, now=_CORE_T0 + timedelta(days=1))

    assert state.fin is not None
    first_hour = int(_CORE_T0.timestamp())
    final_hours = range(first_hour, state.fin - state.fin % 3600, 3600)
    assert len(final_hours) >= 10
    expected = {
        datetime.fromtimestamp(h, UTC): state.coarse.sum_range(h, h + 3600) for h in final_hours
    }
    for scope in (f"ward:{ward.ward_id}", "hospital:SE2321000016-H101", "region:01", "nation"):
        rows = await _rows(
            aconn,
            "SELECT bucket, patient_seconds, bed_seconds FROM occupancy_hourly "
            "WHERE scope_id = %s AND care_type = 'all' AND bucket = ANY(%s) ORDER BY bucket",
            (scope, list(expected)),
        )
        got = {bucket: (patient, beds) for bucket, patient, beds in rows}
        assert got == {b: (float(p), float(a)) for b, (p, a) in expected.items()}, scope


# -- against an independent reference ---------------------------------------------------------


@dataclass(frozen=True)
class _Ward:
    ward_id: str
    hospital_id: str
    region_code: str
    care_type: str
    interval_s: int


_WARDS = (
    _Ward("SE2321000016-W201", "SE2321000016-H201", "01", "somatic_acute", 3600),
    _Ward("SE2321000016-W202", "SE2321000016-H201", "01", "psychiatry", 900),
    _Ward("SE2321000016-W203", "SE2321000016-H202", "12", "somatic_acute", 3600),
)
# Across the spring-forward night in Stockholm (29 March 2026: a 23-hour day).
_REF_START = datetime(2026, 3, 27, 22, 0, tzinfo=UTC)
_REF_END = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Row:
    ward: _Ward
    version: int
    as_of: datetime
    reported: datetime
    available: int
    occupied: int
    overcrowded: int
    outlying: int


def _reference_rows(rng: random.Random) -> list[_Row]:
    rows = []
    for ward in _WARDS:
        t = _REF_START + timedelta(seconds=rng.randint(0, 3600))
        version = 0
        while t < _REF_END:
            version += 1
            available = rng.randint(15, 25)
            occupied = rng.randint(10, 30)
            rows.append(
                _Row(
                    ward,
                    version,
                    t,
                    t,
                    available,
                    occupied,
                    max(0, occupied - available),
                    rng.randint(0, 2),
                )
            )
            if rng.random() < 0.3:  # a heartbeat: same level and as_of, a later report
                version += 1
                beat = t + timedelta(seconds=rng.randint(1, ward.interval_s - 1))
                rows.append(
                    _Row(
                        ward,
                        version,
                        t,
                        beat,
                        available,
                        occupied,
                        max(0, occupied - available),
                        rows[-1].outlying,
                    )
                )
            # mostly within the interval; sometimes a stale gap of up to three intervals
            gap = ward.interval_s * (
                rng.uniform(0.1, 1.0) if rng.random() < 0.9 else rng.uniform(1.0, 3.0)
            )
            t = t + timedelta(seconds=round(gap))
    return rows


def _message(row: _Row) -> bytes:
    w = row.ward
    state = factories.ward_state(
        ward_id=w.ward_id,
        hospital_id=w.hospital_id,
        region_code=w.region_code,
        care_type=w.care_type,
        version=row.version,
        as_of=row.as_of,
        available=row.available,
        occupied=row.occupied,
        overcrowded=row.overcrowded,
        outlying_hosted=row.outlying,
        expected_interval_s=w.interval_s,
    ).model_copy(update={"last_reported_at": row.reported})
    return state.model_dump_json().encode()


def _segments(rows: Sequence[_Row]) -> list[tuple[_Row, datetime, datetime]]:
    """The documented step function (040_aggregate_functions.sql), by brute force."""
    segments = []
    by_ward: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        by_ward[row.ward.ward_id].append(row)
    for ward_rows in by_ward.values():
        ward_rows.sort(key=lambda r: (r.as_of, r.version))
        for i, row in enumerate(ward_rows):
            ends = [row.reported + timedelta(seconds=row.ward.interval_s), row.as_of + DAY_HOLD]
            if i + 1 < len(ward_rows):
                ends.append(ward_rows[i + 1].as_of)
            if min(ends) > row.as_of:
                segments.append((row, row.as_of, min(ends)))
    return segments


def _scopes(ward: _Ward) -> list[tuple[str, str]]:
    return [
        (f"ward:{ward.ward_id}", "all"),
        (f"hospital:{ward.hospital_id}", ward.care_type),
        (f"hospital:{ward.hospital_id}", "all"),
        (f"region:{ward.region_code}", ward.care_type),
        (f"region:{ward.region_code}", "all"),
        ("nation", ward.care_type),
        ("nation", "all"),
    ]


Key = tuple[str, str, datetime]


def _reference_buckets(rows: Sequence[_Row], grain: timedelta) -> dict[Key, list[float]]:
    """(scope, care type, bucket) -> [patient, bed, overcrowded, outlying, covered seconds]."""
    sums: dict[Key, list[float]] = defaultdict(lambda: [0.0] * 5)
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    for row, start, end in _segments(rows):
        bucket = origin + ((start - origin) // grain) * grain
        while bucket < end:
            seconds = (min(end, bucket + grain) - max(start, bucket)).total_seconds()
            for scope, care_type in _scopes(row.ward):
                acc = sums[(scope, care_type, bucket)]
                acc[0] += row.occupied * seconds
                acc[1] += row.available * seconds
                acc[2] += row.overcrowded * seconds
                acc[3] += row.outlying * seconds
                acc[4] += seconds
            bucket += grain
    return sums


async def _aggregate(conn: AsyncConn, table: str, time_column: str) -> dict[Any, list[float]]:
    rows = await _rows(
        conn,
        f"SELECT scope_id, care_type, {time_column}, patient_seconds, bed_seconds, "
        f"overcrowded_seconds, outlying_seconds, covered_seconds FROM {table}",
    )
    return {(s, c, t): [float(v) for v in values] for s, c, t, *values in rows}


def _assert_close(got: dict[Any, list[float]], expected: dict[Any, list[float]]) -> None:
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-9, abs=1e-6), key


async def test_aggregates_equal_the_reference_step_function(
    aconn: AsyncConn, migrated_url: str
) -> None:
    rng = random.Random(20260329)
    rows = _reference_rows(rng)
    now = _REF_END + timedelta(days=1)
    # written in three chunks in time order, refreshing in between as the live system does,
    # plus a replay of the first chunk: the aggregates must end up as if computed at once
    ordered = sorted(rows, key=lambda r: r.as_of)
    third = len(ordered) // 3
    for chunk in (
        ordered[:third],
        ordered[third : 2 * third],
        ordered[:third],
        ordered[2 * third :],
    ):
        await _write(migrated_url, (_message(r) for r in chunk))
        await refresh_all_dirty(aconn, now=now)
    assert await _rows(aconn, "SELECT count(*) FROM aggregate_dirty_hours") == [(0,)]

    hourly = _reference_buckets(rows, HOUR)
    _assert_close(await _aggregate(aconn, "occupancy_hourly", "bucket"), hourly)
    _assert_close(
        await _aggregate(aconn, "occupancy_5m", "bucket"), _reference_buckets(rows, FIVE_MIN)
    )

    daily: dict[Any, list[float]] = defaultdict(lambda: [0.0] * 5)
    for (scope, care_type, bucket), values in hourly.items():
        acc = daily[(scope, care_type, bucket.astimezone(STOCKHOLM).date())]
        for i, value in enumerate(values):
            acc[i] += value
    _assert_close(await _aggregate(aconn, "occupancy_daily", "day"), daily)
    # the short day really had 23 hours of buckets
    assert {
        b
        for (s, c, b) in hourly
        if s == "nation" and c == "all" and b.astimezone(STOCKHOLM).date() == date(2026, 3, 29)
    }.__len__() == 23


async def test_the_0600_snapshot_counts_wards_known_at_six(
    aconn: AsyncConn, migrated_url: str
) -> None:
    rng = random.Random(6)
    rows = _reference_rows(rng)
    await _write(migrated_url, (_message(r) for r in rows))
    await refresh_all_dirty(aconn, now=_REF_END + timedelta(days=1))

    expected: dict[tuple[str, str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    segments = _segments(rows)
    for day in (date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)):
        six = snapshot_instant(day)
        for row, start, end in segments:
            if start <= six < end:
                for scope, care_type in _scopes(row.ward):
                    acc = expected[(scope, care_type, day)]
                    acc[0] += 1
                    acc[1] += row.available
                    acc[2] += row.occupied
                    acc[3] += row.overcrowded
                    acc[4] += row.outlying
    got = await _rows(
        aconn,
        "SELECT scope_id, care_type, day, taken_at, ward_count, available_beds, occupied, "
        "overcrowded, outlying_hosted, overcrowded_per_100 FROM daily_snapshot",
    )
    assert {(s, c, d): [n, a, o, oc, ol] for s, c, d, _, n, a, o, oc, ol, _ in got} == expected
    for scope, _, day, taken_at, _, available, _, overcrowded, _, per_100 in got:
        assert taken_at == snapshot_instant(day)
        assert per_100 == pytest.approx(100.0 * overcrowded / available), scope
    # 06:00 in Stockholm is 05:00 UTC in winter time and 04:00 UTC in summer time
    assert snapshot_instant(date(2026, 3, 28)).hour == 5
    assert snapshot_instant(date(2026, 3, 30)).hour == 4


async def test_a_stale_ward_counts_as_unknown_not_as_its_last_level(
    aconn: AsyncConn, migrated_url: str
) -> None:
    t0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    states = [
        factories.ward_state(
            version=1, as_of=t0, occupied=10, available=20, expected_interval_s=900
        ),
        factories.ward_state(
            version=2, as_of=t0 + 2 * HOUR, occupied=12, available=20, expected_interval_s=900
        ),
    ]
    await _write(migrated_url, (s.model_dump_json().encode() for s in states))
    await refresh_all_dirty(aconn, now=t0 + timedelta(days=1))
    rows = await _rows(
        aconn,
        "SELECT bucket, patient_seconds, covered_seconds FROM occupancy_hourly "
        "WHERE scope_id = 'nation' AND care_type = 'all' ORDER BY bucket",
    )
    # 10:00-10:15 known (one interval after the report), 10:15-12:00 stale, 12:00-12:15 known
    assert rows == [(t0, 10 * 900.0, 900.0), (t0 + 2 * HOUR, 12 * 900.0, 900.0)]


async def test_compliance_is_time_above_target_from_the_rollups(
    aconn: AsyncConn, migrated_url: str
) -> None:
    t0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    rollups = [
        factories.rollup(version=1, as_of=t0, available=100, occupied=80, target=0.85),  # below
        factories.rollup(
            version=2, as_of=t0 + timedelta(minutes=20), available=100, occupied=90, target=0.85
        ),
        factories.rollup(
            version=3, as_of=t0 + timedelta(minutes=50), available=100, occupied=85, target=0.85
        ),
        factories.rollup(scope_id="hospital:SE2321000016-H001", version=1, as_of=t0, occupied=200),
    ]
    await _write(migrated_url, (r.model_dump_json().encode() for r in rollups))
    await refresh_all_dirty(aconn, now=t0 + timedelta(days=1))
    rows = await _rows(
        aconn,
        "SELECT scope_id, bucket, above_target_seconds, covered_seconds FROM compliance_hourly "
        "ORDER BY scope_id, bucket",
    )
    # above from 10:20 to 10:50; 85 of 100 is not above 0.85; the last rollup holds an hour
    assert rows == [
        ("region:01", t0, 1800.0, 3600.0),
        ("region:01", t0 + HOUR, 0.0, 3000.0),
    ]
