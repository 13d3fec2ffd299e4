"""``capmon maintain``: partitions ahead, expired partitions dropped, aggregates refreshed.

Native backend: every table in ``capmon_time_tables`` gets its current slice and ``premake``
slices ahead (the sink also creates any slice a row needs, so this is about not taking that lock
on the write path), and slices whose upper bound is older than ``now - retention`` are dropped.
TimescaleDB backend: chunks and retention are TimescaleDB's own policies; only the aggregates
are refreshed here. Run once (``--once``, e.g. from cron) or as a loop (the default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from capmon.settings import Settings, get_settings
from store.aggregates import RefreshResult, refresh_all_dirty
from store.database import database_url, redacted
from store.migrations import Backend

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Partition:
    table_name: str
    name: str
    lower: datetime
    upper: datetime


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    created: list[str]
    dropped: list[Partition]
    refreshes: list[RefreshResult]


AsyncConn = psycopg.AsyncConnection[tuple[object, ...]]


async def backend_of(conn: AsyncConn) -> Backend:
    try:
        cur = await conn.execute("SELECT backend FROM capmon_migrations LIMIT 1")
        row = await cur.fetchone()
    except psycopg.errors.UndefinedTable:
        row = None
    if row is None:
        raise RuntimeError("the database has no capmon migrations: run `capmon migrate` first")
    return Backend(str(row[0]))


async def partitions(conn: AsyncConn) -> list[Partition]:
    cur = await conn.execute(
        "SELECT table_name, partition_name, lower_bound, upper_bound FROM capmon_partitions "
        "ORDER BY table_name, lower_bound"
    )
    return [Partition(*row) for row in await cur.fetchall()]  # type: ignore[arg-type]


async def create_ahead(conn: AsyncConn, *, now: datetime) -> list[str]:
    """The current slice and ``premake`` slices ahead of every time table; returns new ones."""
    before = {p.name for p in await partitions(conn)}
    async with conn.transaction():
        await conn.execute(
            """
            SELECT capmon_ensure_partition(
                t.table_name,
                date_add(%s::timestamptz, n * ('1 ' || t.granularity)::interval, 'UTC'))
            FROM capmon_time_tables t, generate_series(0, t.premake) AS n
            ORDER BY t.table_name, n
            """,
            (now,),
        )
    return sorted({p.name for p in await partitions(conn)} - before)


async def expired_partitions(conn: AsyncConn, *, now: datetime) -> list[Partition]:
    """Partitions whose every row is older than ``now - retention`` of their table."""
    cur = await conn.execute(
        """
        SELECT p.table_name, p.partition_name, p.lower_bound, p.upper_bound
        FROM capmon_partitions p JOIN capmon_time_tables t USING (table_name)
        WHERE t.retention IS NOT NULL AND p.upper_bound <= %s::timestamptz - t.retention
        ORDER BY p.table_name, p.lower_bound
        """,
        (now,),
    )
    return [Partition(*row) for row in await cur.fetchall()]  # type: ignore[arg-type]


async def drop_expired(
    conn: AsyncConn, *, now: datetime, lock_timeout_s: float = 10.0
) -> list[Partition]:
    """Drop expired partitions, each in its own short transaction."""
    dropped = []
    for part in await expired_partitions(conn, now=now):
        async with conn.transaction():
            # DROP takes an exclusive lock on the parent: wait a bounded time for the sink's or a
            # query's transaction, else give up until the next run rather than queue everyone.
            await conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
            await conn.execute(
                psycopg.sql.SQL("DROP TABLE IF EXISTS {}").format(psycopg.sql.Identifier(part.name))
            )
        log.info("dropped %s [%s, %s)", part.name, part.lower.isoformat(), part.upper.isoformat())
        dropped.append(part)
    return dropped


async def maintain_once(conn: AsyncConn, *, now: datetime) -> MaintenanceResult:
    await conn.execute("SET TimeZone = 'UTC'")
    created: list[str] = []
    dropped: list[Partition] = []
    if await backend_of(conn) is Backend.NATIVE:
        created = await create_ahead(conn, now=now)
        dropped = await drop_expired(conn, now=now)
    refreshes = await refresh_all_dirty(conn, now=now)
    return MaintenanceResult(created, dropped, refreshes)


async def run(
    url: str, *, interval_s: float, once: bool, stop: asyncio.Event, clock: Clock = utc_now
) -> None:
    conn: AsyncConn | None = None
    try:
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(
                        url, autocommit=True, connect_timeout=10
                    )
                result = await maintain_once(conn, now=clock())
                hours = sum(r.hours for r in result.refreshes)
                if result.created or result.dropped or hours:
                    log.info(
                        "created %d partition(s), dropped %d, refreshed %d dirty hour(s)",
                        len(result.created),
                        len(result.dropped),
                        hours,
                    )
            except psycopg.OperationalError as exc:
                if once:
                    raise
                log.warning("database unavailable (%s); retrying in %.0f s", exc, interval_s)
                if conn is not None:
                    await conn.close()
                conn = None
            if once:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
    finally:
        if conn is not None:
            await conn.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capmon maintain", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: CAPMON_DATABASE_URL or the local stack")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings: Settings = get_settings()
    url = args.database_url or database_url(settings)
    log.info("maintaining %s", redacted(url))

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(url, interval_s=args.interval, once=args.once, stop=stop)

    try:
        asyncio.run(_main())
    except (psycopg.OperationalError, RuntimeError) as exc:
        print(f"capmon maintain: {exc}", file=sys.stderr)
        return 1
    return 0
