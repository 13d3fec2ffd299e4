"""Latency of the 30-day hourly history of a region, with a year of data for every ward loaded.

    python -m bench.history_query [--runs 200] [--scope region:01] [--database-url URL]

Runs ``store.queries.history`` (what GET /api/v1/history/region:01?bucket=1h serves) over the
30 days ending at the newest generated hour. The data comes from bench.generate_history (run
first, and run here if the database has none). Prints one JSON line: the p95 in ms against the
100 ms target (ratio < 1: met), with p50 and a same-run ``SELECT 1`` round trip for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg

from bench.generate_history import generate
from bench.history_common import bench_database_url, result_line
from capmon.settings import get_settings
from store.queries import Bucket, history

TARGET_MS = 100.0


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _end_of_data(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> datetime | None:
    try:
        cur = await conn.execute("SELECT end_at FROM bench_history_meta")
    except psycopg.errors.UndefinedTable:
        return None
    row = await cur.fetchone()
    return row[0] if row else None  # type: ignore[return-value]


async def measure(url: str, *, runs: int, scope: str, days: int) -> tuple[list[float], float, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        end = await _end_of_data(conn)
        if end is None:
            print("no generated history: running bench.generate_history first", file=sys.stderr)
            await generate(
                url, days=365, wards_limit=None, seed=2026, force=False, mode="aggregates"
            )
            end = await _end_of_data(conn)
            assert end is not None
        start = end - timedelta(days=days)
        points = 0
        for _ in range(5):  # warm-up: plans, caches
            points = len(await history(conn, scope, start=start, end=end, bucket=Bucket.HOUR))
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            await history(conn, scope, start=start, end=end, bucket=Bucket.HOUR)
            timings.append((time.perf_counter() - began) * 1000)
        round_trips = []
        for _ in range(runs):
            began = time.perf_counter()
            await conn.execute("SELECT 1")
            round_trips.append((time.perf_counter() - began) * 1000)
        return timings, statistics.median(round_trips), points


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.history_query", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--scope", default="region:01")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    url = bench_database_url(get_settings(), args.database_url)
    timings, round_trip, points = asyncio.run(
        measure(url, runs=args.runs, scope=args.scope, days=args.days)
    )
    p95 = percentile(timings, 0.95)
    print(
        result_line(
            name="history_query_30d_region_hourly_p95",
            value=p95,
            unit="ms",
            baseline="target_ms",
            baseline_value=TARGET_MS,
            url=url,
            p50_ms=round(percentile(timings, 0.5), 3),
            select1_ms=round(round_trip, 3),
            points=points,
            runs=args.runs,
            scope=args.scope,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
