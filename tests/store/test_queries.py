"""The history queries the API serves (integration)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from pydantic import BaseModel

from schemas.messages import AlertRule, AlertState
from schemas.types import PressureLevel
from store import queries
from store.aggregates import refresh_all_dirty
from store.queries import Bucket
from store.rows import RowBatch, add_message
from store.writer import HistoryWriter
from tests.store import factories

pytestmark = pytest.mark.integration

AsyncConn = psycopg.AsyncConnection[tuple[object, ...]]
T0 = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 00:00 on 25 October in Stockholm (CEST)
W1, W2 = "SE2321000016-W301", "SE2321000016-W302"


async def _write(url: str, messages: Sequence[BaseModel]) -> None:
    batch = RowBatch()
    for i, message in enumerate(messages):
        add_message(batch, message.model_dump_json().encode(), partition=0, offset=i)
    writer = HistoryWriter(url)
    try:
        await writer.write(batch)
    finally:
        await writer.close()


@pytest.fixture
async def history(aconn: AsyncConn, migrated_url: str) -> AsyncConn:
    """Two wards of region 01 reporting every 10 minutes for two days: W1 steady at 15 of 20,
    W2 at 9 of 10 (psychiatry), across the autumn clock change (25 October: a 25-hour day)."""
    states = []
    for i in range(2 * 24 * 6):
        t = T0 + timedelta(minutes=10 * i)
        states.append(
            factories.ward_state(
                ward_id=W1,
                version=i + 1,
                as_of=t,
                occupied=15,
                available=20,
                expected_interval_s=900,
            )
        )
        states.append(
            factories.ward_state(
                ward_id=W2,
                version=i + 1,
                as_of=t,
                occupied=9,
                available=10,
                care_type="psychiatry",
                expected_interval_s=900,
                overcrowded=1,
            )
        )
    await _write(migrated_url, states)
    await refresh_all_dirty(aconn, now=T0 + timedelta(days=3))
    return aconn


async def test_hourly_history_of_a_region(history: AsyncConn) -> None:
    points = await queries.history(
        history, "region:01", start=T0, end=T0 + 24 * timedelta(hours=1), bucket=Bucket.HOUR
    )
    assert [p.t for p in points] == [T0 + timedelta(hours=h) for h in range(24)]
    for point in points:
        assert point.occupancy == pytest.approx(24 / 30)
        assert point.available_beds == pytest.approx(30)
        assert point.occupied == pytest.approx(24)
        assert point.overcrowded == pytest.approx(1)
        assert point.ward_count == 2
        assert point.coverage == pytest.approx(1.0)


async def test_care_type_filter_and_ward_scopes(history: AsyncConn) -> None:
    psychiatry = await queries.history(
        history,
        "region:01",
        care_type="psychiatry",
        start=T0,
        end=T0 + timedelta(hours=1),
        bucket=Bucket.FIVE_MINUTES,
    )
    assert len(psychiatry) == 12
    assert [p.occupancy for p in psychiatry] == [pytest.approx(0.9)] * 12
    ward = await queries.history(
        history,
        f"ward:{W2}",
        care_type="somatic_acute",
        start=T0,
        end=T0 + timedelta(hours=2),
        bucket=Bucket.HOUR,
    )
    assert [p.occupancy for p in ward] == [pytest.approx(0.9)] * 2


async def test_daily_history_uses_stockholm_days(history: AsyncConn) -> None:
    points = await queries.history(
        history,
        f"ward:{W1}",
        start=T0 - timedelta(hours=1),
        end=T0 + timedelta(days=2),
        bucket=Bucket.DAY,
    )
    # local days 25 and 26 October: midnight of the 25th is 22:00 UTC, of the 26th 23:00 UTC
    assert [p.t for p in points] == [T0, datetime(2026, 10, 25, 23, 0, tzinfo=UTC)]
    assert points[0].occupancy == pytest.approx(0.75)
    assert points[0].available_beds == pytest.approx(20)  # mean over a 25-hour day
    assert points[0].coverage == pytest.approx(1.0)


async def test_history_refuses_naive_times(history: AsyncConn) -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        await queries.history(history, "nation", start=naive, end=T0, bucket=Bucket.HOUR)


async def test_daily_snapshots(history: AsyncConn) -> None:
    series = await queries.daily_snapshots(
        history, "region:01", start=date(2026, 10, 25), end=date(2026, 10, 27)
    )
    assert [s.day for s in series] == [date(2026, 10, 25), date(2026, 10, 26)]
    first = series[0]
    assert first.taken_at == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)  # 06:00 CET, after the change
    assert (first.ward_count, first.available_beds, first.occupied, first.overcrowded) == (
        2,
        30,
        24,
        1,
    )
    assert first.overcrowded_per_100 == pytest.approx(100 / 30)
    assert first.outlying_per_100 == 0


async def test_alert_history_filters(aconn: AsyncConn, migrated_url: str) -> None:
    raised = T0
    a1, a2, a3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [
        factories.alert(
            alert_id=a1, sequence=1, state=AlertState.RAISED, occurred_at=raised, raised_at=raised
        ),
        factories.alert(
            alert_id=a1,
            sequence=2,
            state=AlertState.ACKNOWLEDGED,
            occurred_at=raised + timedelta(minutes=5),
            raised_at=raised,
            acknowledged_by="x",
        ),
        factories.alert(
            alert_id=a1,
            sequence=3,
            state=AlertState.ESCALATED,
            occurred_at=raised + timedelta(minutes=9),
            raised_at=raised,
            level=PressureLevel.CRITICAL,
        ),
        factories.alert(
            alert_id=a2,
            sequence=1,
            state=AlertState.RAISED,
            occurred_at=raised + timedelta(hours=1),
            raised_at=raised + timedelta(hours=1),
            scope_id="region:12",
            region_code="12",
        ),
        factories.alert(
            alert_id=a2,
            sequence=2,
            state=AlertState.RESOLVED,
            occurred_at=raised + timedelta(hours=2),
            raised_at=raised + timedelta(hours=1),
            scope_id="region:12",
            region_code="12",
        ),
        factories.alert(
            alert_id=a3,
            sequence=1,
            state=AlertState.RAISED,
            occurred_at=raised + timedelta(hours=3),
            raised_at=raised + timedelta(hours=3),
            scope_id="nation",
            region_code=None,
        ),
    ]
    await _write(migrated_url, events)

    everything = await queries.alert_history(aconn)
    assert [(r.event.alert_id, r.event.sequence) for r in everything] == [
        (a3, 1),
        (a2, 2),
        (a2, 1),
        (a1, 3),
        (a1, 2),
        (a1, 1),
    ]
    assert [r.acknowledged for r in everything] == [False, False, False, True, True, True]

    active = await queries.alert_history(aconn, active_only=True)
    assert [(r.event.alert_id, r.event.state, r.acknowledged) for r in active] == [
        (a3, AlertState.RAISED, False),
        (a1, AlertState.ESCALATED, True),
    ]
    assert [r.event.alert_id for r in await queries.alert_history(aconn, region_code="12")] == [
        a2,
        a2,
    ]
    critical = await queries.alert_history(aconn, min_level=PressureLevel.CRITICAL)
    assert [(r.event.alert_id, r.event.sequence) for r in critical] == [(a1, 3)]
    window = await queries.alert_history(
        aconn, start=raised + timedelta(minutes=1), end=raised + timedelta(hours=2)
    )
    assert [(r.event.alert_id, r.event.sequence) for r in window] == [(a2, 1), (a1, 3), (a1, 2)]
    assert len(await queries.alert_history(aconn, limit=2)) == 2
    assert await queries.alert_history(aconn, rule=AlertRule.STALE) == []
    assert [
        r.event.alert_id for r in await queries.alert_history(aconn, state=AlertState.RESOLVED)
    ] == [a2]


async def test_compliance_per_day_and_month(aconn: AsyncConn, migrated_url: str) -> None:
    t0 = datetime(2026, 5, 30, 22, 0, tzinfo=UTC)  # midnight 31 May in Stockholm
    rollups = []
    for i in range(2 * 24 * 2):  # every 30 minutes for two local days: 31 May and 1 June
        occupied = 90 if i % 4 == 0 else 80  # above the 85 % target a quarter of the time
        rollups.append(
            factories.rollup(
                version=i + 1,
                as_of=t0 + timedelta(minutes=30 * i),
                available=100,
                occupied=occupied,
            )
        )
        rollups.append(
            factories.rollup(
                scope_id="nation",
                version=i + 1,
                as_of=t0 + timedelta(minutes=30 * i),
                available=100,
                occupied=95,
            )
        )
    await _write(migrated_url, rollups)
    await refresh_all_dirty(aconn, now=t0 + timedelta(days=5))

    days = await queries.compliance(
        aconn, period="day", start=date(2026, 5, 31), end=date(2026, 6, 2)
    )
    by_key = {(r.scope_id, r.period_start): r for r in days}
    assert set(by_key) == {
        (s, d) for s in ("nation", "region:01") for d in (date(2026, 5, 31), date(2026, 6, 1))
    }
    assert by_key[("region:01", date(2026, 5, 31))].share_above == pytest.approx(0.25)
    assert by_key[("region:01", date(2026, 5, 31))].covered_seconds == pytest.approx(86400)
    assert by_key[("nation", date(2026, 6, 1))].share_above == pytest.approx(1.0)

    months = await queries.compliance(
        aconn,
        period="month",
        start=date(2026, 5, 1),
        end=date(2026, 7, 1),
        region_code="01",
        include_nation=False,
    )
    assert [(r.scope_id, r.period_start) for r in months] == [
        ("region:01", date(2026, 5, 1)),
        ("region:01", date(2026, 6, 1)),
    ]
    # June also holds the half hour the last rollup (23:30 on 1 June) is carried into 2 June
    assert (months[1].above_target_seconds, months[1].covered_seconds) == (12 * 1800, 86400 + 1800)


@pytest.mark.parametrize("ack_first", [False, True])
async def test_an_acknowledgement_shares_the_sequence_of_the_step_it_acknowledges(
    aconn: AsyncConn, migrated_url: str, ack_first: bool
) -> None:
    alert_id = uuid.uuid4()
    raised = factories.alert(
        alert_id=alert_id, sequence=1, state=AlertState.RAISED, occurred_at=T0, raised_at=T0
    )
    ack = factories.alert(
        alert_id=alert_id,
        sequence=1,
        state=AlertState.ACKNOWLEDGED,
        occurred_at=T0 + timedelta(minutes=3),
        raised_at=T0,
        acknowledged_by="samordnare",
    )
    for event in [ack, raised] if ack_first else [raised, ack]:
        await _write(migrated_url, [event])  # separate batches: arrival order matters

    history = await queries.alert_history(aconn)
    assert {r.event.state for r in history} == {AlertState.RAISED, AlertState.ACKNOWLEDGED}
    (active,) = await queries.alert_history(aconn, active_only=True)
    assert (active.event.state, active.acknowledged) == (AlertState.RAISED, True)
    assert active.event.acknowledged_by == "samordnare"
