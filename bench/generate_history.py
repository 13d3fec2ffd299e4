"""Load a year of hourly history for every reference ward into the bench database.

Two modes, the same shape of data (occupancy with a winter peak, a summer dip in staffed beds,
a daily cycle and per-ward drift; 1,110 reference wards, or synthetic ids if the reference data
cannot be loaded):

- ``aggregates`` (default, a few minutes): ``occupancy_hourly`` rows for every ward, hospital,
  region and the nation, synthesised by the server. What bench.history_query reads.
- ``raw`` (the full path, tens of minutes on a busy 2-core machine): one ward state per ward and
  hour into ``ward_state_history`` (``expected_interval_s`` 3600, so each holds its hour), then
  the real aggregate refresh (store.aggregates.refresh_range) month by month, so
  ``occupancy_hourly`` and ``occupancy_daily`` hold what the live system would have computed.

    python -m bench.generate_history [--mode aggregates|raw] [--days 365] [--database-url URL]

Prints one JSON line (rows, seconds). Skips the work when the database already holds the same
generation (see ``bench_history_meta``) unless ``--force``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from bench.history_common import bench_database_url, ensure_database
from capmon.settings import get_settings
from schemas.reference import load_reference
from store.aggregates import refresh_range
from store.migrate import migrate
from store.rows import WARD_STATE_COLUMNS

HOUR = timedelta(hours=1)
INTERVAL_S = 3600
# A typical occupancy per care type (DOMAIN.md targets are 85/95/80 %: real wards run hot).
BASE_OCCUPANCY = {
    "somatic_acute": 0.93,
    "somatic_planned": 0.86,
    "intensive_care": 0.74,
    "psychiatry": 0.90,
    "paediatric": 0.72,
}


@dataclass(frozen=True, slots=True)
class BenchWard:
    ward_id: str
    hospital_id: str
    region_code: str
    care_type: str
    specialty: str
    beds: int
    physical_beds: int


def reference_wards(limit: int | None) -> list[BenchWard]:
    try:
        reference = load_reference()
        wards = [
            BenchWard(
                w.ward_id,
                w.hospital_id,
                reference.region_of(w.ward_id).code,
                str(w.care_type),
                w.specialty,
                w.typical_available_beds,
                w.physical_beds,
            )
            for w in reference.wards.values()
        ]
    except Exception as exc:  # reference data missing or changed shape: synthetic wards
        print(f"reference data unavailable ({exc}); using synthetic wards", file=sys.stderr)
        rng = random.Random(1)
        care_types = list(BASE_OCCUPANCY)
        wards = [
            BenchWard(
                f"SE2321000016-B{i:04d}",
                f"SE2321000016-H{i // 17:03d}",
                f"{(i // 17) % 21 + 1:02d}",
                care_types[i % len(care_types)],
                "bench",
                beds := rng.randint(8, 30),
                beds + 2,
            )
            for i in range(1100)
        ]
    return wards[:limit] if limit else wards


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ward_hours(
    wards: Sequence[BenchWard], start: datetime, end: datetime, noise: dict[str, float], seed: int
) -> Iterator[tuple[object, ...]]:
    """Rows (WARD_STATE_COLUMNS order) for every ward and hour in [start, end)."""
    rng = random.Random(f"{seed}:{start.isoformat()}")
    hours = int((end - start) / HOUR)
    for h in range(hours):
        t = start + h * HOUR
        day_of_year = t.timetuple().tm_yday
        season = 0.05 * math.cos(2 * math.pi * (day_of_year - 15) / 365.25)
        daily = 0.03 * math.cos(2 * math.pi * (t.hour - 6) / 24)
        summer = 27 <= t.isocalendar().week <= 32
        as_of = _iso(t)
        for ward in wards:
            # AR(1) noise per ward: occupancy drifts for days, not hour to hour
            n = noise.get(ward.ward_id, 0.0) * 0.97 + rng.gauss(0, 0.012)
            noise[ward.ward_id] = n
            available = ward.beds
            if summer and ward.care_type in ("somatic_acute", "somatic_planned"):
                available = max(1, round(ward.beds * 0.8))
            occupancy = max(0.0, BASE_OCCUPANCY[ward.care_type] + season + daily + n)
            occupied = round(available * occupancy)
            overcrowded = max(0, occupied - available)
            outlying = 1 if rng.random() < 0.12 else 0
            version = h + 1
            yield (
                ward.ward_id,
                as_of,
                version,
                ward.hospital_id,
                ward.region_code,
                ward.care_type,
                ward.specialty,
                as_of,
                INTERVAL_S,
                False,
                available,
                occupied,
                max(0, available - occupied),
                overcrowded,
                outlying,
                0,
                1,
                2,
                ward.physical_beds,
                None,
                None,
                occupied / available,
                available - occupied + 1,
                100.0 * overcrowded / available,
                100.0 * outlying / available,
                float(occupied * 3600),
                float(available * 3600),
                float(occupied * 86400),
                float(available * 86400),
                float(occupied * 604800),
                float(available * 604800),
                0.85,
                1,
                0,
            )


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """``start``, then every first of the month (UTC) before ``end``, then ``end``."""
    points = [start]
    t = start.replace(day=1, hour=0)
    while True:
        t = (t + timedelta(days=32)).replace(day=1)
        if t >= end:
            break
        points.append(t)
    points.append(end)
    return points


AsyncConn = psycopg.AsyncConnection[tuple[object, ...]]

_TABLES = (
    "ward_state_history",
    "occupancy_hourly",
    "occupancy_5m",
    "occupancy_daily",
    "daily_snapshot",
    "aggregate_dirty_hours",
    "bench_history_meta",
)


async def _load_raw(
    conn: AsyncConn, wards: Sequence[BenchWard], start: datetime, end: datetime, seed: int
) -> int:
    """Ward states into ward_state_history, then the real refresh, month by month."""
    rows = 0
    noise: dict[str, float] = {}
    columns = ", ".join(WARD_STATE_COLUMNS)
    started = time.monotonic()
    for chunk_start, chunk_end in itertools.pairwise(month_starts(start, end)):
        day = chunk_start.replace(hour=0)
        while day < chunk_end:
            await conn.execute("SELECT capmon_ensure_partition('ward_state_history', %s)", (day,))
            day += timedelta(days=1)
        async with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(f"COPY ward_state_history ({columns}) FROM STDIN") as copy,
        ):
            for row in ward_hours(wards, chunk_start, chunk_end, noise, seed):
                await copy.write_row(row)
                rows += 1
        loaded = time.monotonic() - started
        await refresh_range(conn, chunk_start, chunk_end, five_minute=False)
        print(
            f"{chunk_start:%Y-%m}: {rows:,} rows, loaded at {loaded:.0f} s, "
            f"aggregated at {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
    # five-minute buckets for the last day only (the wall's sparkline; they are kept 35 days)
    await refresh_range(conn, end - timedelta(days=1), end, five_minute=True)
    return rows


# The same shape of occupancy as ward_hours, computed by the server: a year of hourly rows for
# a thousand wards in a minute or two instead of the raw path's tens of minutes.
_SYNTHETIC_WARD_HOURS = """
INSERT INTO occupancy_hourly (scope_id, care_type, bucket, patient_seconds, bed_seconds,
                              overcrowded_seconds, outlying_seconds, covered_seconds, ward_count)
SELECT 'ward:' || w.ward_id, 'all', h.t, 3600.0 * o.occupied, 3600.0 * a.available,
       3600.0 * greatest(0, o.occupied - a.available),
       CASE WHEN hashtext(w.ward_id || h.t::text) %% 8 = 0 THEN 3600.0 ELSE 0 END, 3600, 1
FROM bench_wards w
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour',
                           interval '1 hour') AS h(t)
CROSS JOIN LATERAL (
    SELECT CASE WHEN extract(week FROM h.t) BETWEEN 27 AND 32
                     AND w.care_type IN ('somatic_acute', 'somatic_planned')
                THEN greatest(1, round(w.beds * 0.8))::int ELSE w.beds END AS available
) AS a
CROSS JOIN LATERAL (
    SELECT round(a.available * greatest(0.0,
        w.base
        + 0.05 * cos(2 * pi() * (extract(doy FROM h.t) - 15) / 365.25)
        + 0.03 * cos(2 * pi() * (extract(hour FROM h.t) - 6) / 24)
        + 0.04 * sin(w.phase + extract(epoch FROM h.t) / 259200.0)))::int AS occupied
) AS o
"""

_SCOPES_FROM_WARD_HOURS = """
INSERT INTO occupancy_hourly (scope_id, care_type, bucket, patient_seconds, bed_seconds,
                              overcrowded_seconds, outlying_seconds, covered_seconds, ward_count)
SELECT CASE WHEN grouping(w.hospital_id) = 0 THEN 'hospital:' || w.hospital_id
            WHEN grouping(w.region_code) = 0 THEN 'region:' || w.region_code
            ELSE 'nation' END,
       CASE WHEN grouping(w.care_type) = 0 THEN w.care_type ELSE 'all' END,
       h.bucket, sum(h.patient_seconds), sum(h.bed_seconds), sum(h.overcrowded_seconds),
       sum(h.outlying_seconds), sum(h.covered_seconds), count(*)::int
FROM occupancy_hourly h JOIN bench_wards w ON h.scope_id = 'ward:' || w.ward_id
WHERE h.care_type = 'all' AND h.bucket >= %(start)s AND h.bucket < %(end)s
GROUP BY GROUPING SETS (
    (h.bucket, w.hospital_id, w.care_type), (h.bucket, w.hospital_id),
    (h.bucket, w.region_code, w.care_type), (h.bucket, w.region_code),
    (h.bucket, w.care_type), (h.bucket))
"""


async def _load_aggregates(
    conn: AsyncConn, wards: Sequence[BenchWard], start: datetime, end: datetime, seed: int
) -> int:
    """occupancy_hourly for every ward and scope, synthesised by the server month by month."""
    rng = random.Random(seed)
    await conn.execute(
        'CREATE TEMP TABLE bench_wards (ward_id text COLLATE "C", hospital_id text, '
        "region_code text, care_type text, beds int, base float8, phase float8)"
    )
    async with conn.cursor() as cur, cur.copy("COPY bench_wards FROM STDIN") as copy:
        for w in wards:
            base = BASE_OCCUPANCY[w.care_type] + rng.gauss(0, 0.03)
            await copy.write_row(
                (
                    w.ward_id,
                    w.hospital_id,
                    w.region_code,
                    w.care_type,
                    w.beds,
                    base,
                    rng.uniform(0, 6.3),
                )
            )
    rows = 0
    started = time.monotonic()
    for chunk_start, chunk_end in itertools.pairwise(month_starts(start, end)):
        params = {"start": chunk_start, "end": chunk_end}
        async with conn.transaction():
            await conn.execute(
                "SELECT capmon_ensure_partition('occupancy_hourly', %s)", (chunk_start,)
            )
            cur = await conn.execute(_SYNTHETIC_WARD_HOURS, params)
            rows += cur.rowcount
            cur = await conn.execute(_SCOPES_FROM_WARD_HOURS, params)
            rows += cur.rowcount
        print(
            f"{chunk_start:%Y-%m}: {rows:,} hourly rows at {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
    return rows


async def generate(
    url: str, *, days: int, wards_limit: int | None, seed: int, force: bool, mode: str
) -> dict[str, object]:
    ensure_database(url)
    migrate(url)
    wards = reference_wards(wards_limit)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SET TimeZone = 'UTC'")
        # a bulk load: big sorts in memory, no waiting for the WAL flush of each chunk
        await conn.execute("SET work_mem = '256MB'")
        await conn.execute("SET synchronous_commit = off")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_history_meta (days int, wards int, seed int, "
            "start_at timestamptz, end_at timestamptz, generated_at timestamptz, mode text)"
        )
        cur = await conn.execute("SELECT days, wards, seed, mode, end_at FROM bench_history_meta")
        existing = await cur.fetchone()
        if existing and not force and tuple(existing[:4]) == (days, len(wards), seed, mode):
            return {"skipped": True, "mode": mode, "end_at": str(existing[4])}
        for table in _TABLES:
            await conn.execute(f"TRUNCATE {table}")
        started = time.monotonic()
        load = _load_raw if mode == "raw" else _load_aggregates
        rows = await load(conn, wards, start, end, seed)
        await conn.execute("ANALYZE")
        await conn.execute(
            "INSERT INTO bench_history_meta VALUES (%s, %s, %s, %s, %s, now(), %s)",
            (days, len(wards), seed, start, end, mode),
        )
        return {
            "mode": mode,
            "rows": rows,
            "wards": len(wards),
            "seconds": round(time.monotonic() - started, 1),
            "end_at": end.isoformat(),
        }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.generate_history", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--database-url", help="default: $CAPMON_BENCH_DATABASE_URL or capmon_bench on the stack"
    )
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--wards", type=int, default=None, help="only the first N wards")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--force", action="store_true", help="regenerate even if already there")
    p.add_argument(
        "--mode",
        choices=("aggregates", "raw"),
        default="aggregates",
        help="aggregates: hourly rows synthesised by the server (minutes); raw: a ward state per "
        "ward and hour, aggregated by the real refresh (the full path; tens of minutes)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    url = bench_database_url(get_settings(), args.database_url)
    result = asyncio.run(
        generate(
            url,
            days=args.days,
            wards_limit=args.wards,
            seed=args.seed,
            force=args.force,
            mode=args.mode,
        )
    )
    print(json.dumps({"name": "generate_history", **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
