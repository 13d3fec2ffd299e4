"""Partitions ahead and retention on the native backend (integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from store import maintenance
from store.rows import RowBatch, add_message
from store.writer import HistoryWriter
from tests.store import factories

pytestmark = pytest.mark.integration

AsyncConn = psycopg.AsyncConnection[tuple[object, ...]]
NOW = datetime(2026, 6, 15, 10, 30, tzinfo=UTC)


async def _names(conn: AsyncConn, table: str) -> set[str]:
    return {p.name for p in await maintenance.partitions(conn) if p.table_name == table}


async def test_partitions_are_created_ahead(aconn: AsyncConn) -> None:
    created = await maintenance.create_ahead(aconn, now=NOW)
    assert {f"ward_state_history_p202606{day}" for day in range(15, 23)} <= set(created)
    assert {
        "occupancy_hourly_p202606",
        "occupancy_hourly_p202607",
        "occupancy_hourly_p202608",
    } <= set(created)
    # idempotent
    assert await maintenance.create_ahead(aconn, now=NOW) == []


async def test_retention_drops_exactly_the_partitions_older_than_the_bound(
    aconn: AsyncConn, migrated_url: str
) -> None:
    # ward_state_history keeps 90 days: the bound is 2026-03-17 10:30 UTC.
    bound = NOW - timedelta(days=90)
    days = [bound.replace(hour=0, minute=0) + timedelta(days=d) for d in range(-5, 4)]
    for day in days:
        await aconn.execute("SELECT capmon_ensure_partition('ward_state_history', %s)", (day,))
    # a row in the partition that straddles the bound: it must survive
    batch = RowBatch()
    state = factories.ward_state(version=1, as_of=bound + timedelta(hours=1))
    add_message(batch, state.model_dump_json().encode(), partition=0, offset=0)
    writer = HistoryWriter(migrated_url)
    try:
        await writer.write(batch)
    finally:
        await writer.close()

    dropped = await maintenance.drop_expired(aconn, now=NOW)

    dropped_wards = {p.name for p in dropped if p.table_name == "ward_state_history"}
    expected = {f"ward_state_history_p{d:%Y%m%d}" for d in days if d + timedelta(days=1) <= bound}
    assert dropped_wards == expected
    assert all(p.upper <= NOW - timedelta(days=90) for p in dropped)
    remaining = await _names(aconn, "ward_state_history")
    assert remaining == {f"ward_state_history_p{d:%Y%m%d}" for d in days} - expected
    assert (
        "ward_state_history_p20260317" in remaining
    )  # [03-17, 03-18) holds rows newer than the bound
    cur = await aconn.execute("SELECT count(*) FROM ward_state_history")
    assert await cur.fetchone() == (1,)


async def test_monthly_tables_keep_their_longer_retention(aconn: AsyncConn) -> None:
    for month_start in (datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 7, 1, tzinfo=UTC)):
        await aconn.execute(
            "SELECT capmon_ensure_partition('occupancy_hourly', %s)", (month_start,)
        )
    # 3 years before 2026-06-15 10:30 is 2023-06-15 10:30: May 2023 goes, July 2023 stays
    dropped = await maintenance.drop_expired(aconn, now=NOW)
    assert [p.name for p in dropped if p.table_name == "occupancy_hourly"] == [
        "occupancy_hourly_p202305"
    ]
    assert "occupancy_hourly_p202307" in await _names(aconn, "occupancy_hourly")


async def test_the_sink_creates_a_partition_a_row_needs(
    aconn: AsyncConn, migrated_url: str
) -> None:
    long_ago = datetime(2020, 2, 29, 23, 59, tzinfo=UTC)
    batch = RowBatch()
    state = factories.ward_state(version=1, as_of=long_ago)
    add_message(batch, state.model_dump_json().encode(), partition=0, offset=0)
    writer = HistoryWriter(migrated_url)
    try:
        counts = await writer.write(batch)
    finally:
        await writer.close()
    assert counts.inserted == {"ward_state_history": 1}
    assert "ward_state_history_p20200229" in await _names(aconn, "ward_state_history")


async def test_maintain_once_runs_everything(aconn: AsyncConn) -> None:
    result = await maintenance.maintain_once(aconn, now=NOW)
    assert result.created
    assert result.dropped == []
    assert result.refreshes == []


def test_command_line_once(migrated_url: str) -> None:
    assert maintenance.main(["--once", "--database-url", migrated_url]) == 0


def test_command_line_refuses_an_unmigrated_database(fresh_database_url: str) -> None:
    assert maintenance.main(["--once", "--database-url", fresh_database_url]) == 1
