"""Sink throughput (rows/s) against a bare COPY of the same rows, in the same run.

    python -m bench.sink_throughput [--rows 200000] [--database-url SERVER_URL] [--kafka HOST:PORT]

1. Produces ``--rows`` WardState messages (the stream's JSON, reference wards) to a fresh topic.
2. Baseline: the same rows, decoded beforehand, in one COPY into a table identical to
   ward_state_history (columns, key, indexes, daily partitions): the default text format
   (``baseline``, what "bare COPY" usually means) and binary (``bare_copy_binary``, the format the
   sink stages with; the stricter comparison, reported as ``ratio_to_binary``).
3. The sink (store.sink.HistorySink, a fresh consumer group) from its partition assignment until
   the last row is committed: consume, decode, COPY to staging, INSERT ... ON CONFLICT, mark the
   aggregates dirty, commit offsets.

Steps 2 and 3 alternate for ``--rounds`` rounds on emptied tables, and the best round of each
counts: on a shared machine the load of other processes only ever slows a round down.

Uses a throw-away database on the given server (default: the local stack or CAPMON_DATABASE_URL)
and throw-away topics. Prints one JSON line: sink rows/s, bare COPY rows/s and their ratio
(target >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import CollectorRegistry
from psycopg import sql

from bench.generate_history import BenchWard, reference_wards
from bench.history_common import drop_database, ensure_database, result_line
from capmon.settings import Settings, get_settings
from capmon.stack.postgres_config import with_database
from store.database import database_url
from store.migrate import migrate
from store.rows import WARD_STATE_COLUMNS, WARD_STATE_TYPES, RowBatch, add_message
from store.sink import HistorySink, sink_topics, tune_process
from store.sink_metrics import SinkMetrics


def _window(window_s: int, occupied: int, available: int) -> dict[str, Any]:
    return {
        "window_s": window_s,
        "patient_seconds": float(occupied * window_s),
        "bed_seconds": float(available * window_s),
        "occupancy": occupied / available,
    }


def ward_state(ward: BenchWard, version: int, as_of: datetime, occupied: int) -> bytes:
    """A WardState as the stream serialises it (schemas.messages.WardState)."""
    available = ward.beds
    return orjson.dumps(
        {
            "message_version": 1,
            "kind": "ward_state",
            "ward_id": ward.ward_id,
            "hospital_id": ward.hospital_id,
            "region_code": ward.region_code,
            "care_type": ward.care_type,
            "specialty": ward.specialty,
            "version": version,
            "as_of": as_of,
            "last_reported_at": as_of,
            "expected_interval_s": 900,
            "stale": False,
            "counts": {
                "available_beds": available,
                "occupied": occupied,
                "free_beds": max(0, available - occupied),
                "overcrowded": max(0, occupied - available),
                "outlying_hosted": 0,
                "placed_elsewhere": 0,
                "pending_admissions": 1,
                "expected_discharges_24h": 2,
                "physical_beds": ward.physical_beds,
                "surge_beds_24h": None,
                "surge_beds_72h": None,
            },
            "measures": {
                "occupancy": occupied / available,
                "free_after_pending": available - occupied + 1,
                "overcrowded_per_100": 100.0 * max(0, occupied - available) / available,
                "outlying_per_100": 0.0,
                "occupancy_1h": _window(3600, occupied, available),
                "occupancy_24h": _window(86400, occupied, available),
                "occupancy_7d": _window(604800, occupied, available),
            },
            "target": 0.85,
            "pressure_level": 1,
            "late_events": 0,
        }
    )


def messages(n: int) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs: every reference ward in turn, one state per 5 minutes each."""
    wards = reference_wards(None)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    out = []
    for i in range(n):
        ward = wards[i % len(wards)]
        version = i // len(wards) + 1
        as_of = start + timedelta(minutes=5 * version, seconds=i % len(wards))
        occupied = max(0, ward.beds - 2 + (i * 7919) % 5)
        out.append((ward.ward_id.encode(), ward_state(ward, version, as_of, occupied)))
    return out


async def produce(
    settings: Settings, topic: str, items: list[tuple[bytes, bytes]], partitions: int
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=partitions, replication_factor=1)
                for name in sink_topics(settings)
            ]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        for key, value in items:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def delete_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(sink_topics(settings))
    finally:
        await admin.close()


def prepare_database(url: str, first: datetime, last: datetime) -> None:
    ensure_database(url)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE ward_state_history_copy (LIKE ward_state_history INCLUDING ALL) "
            "PARTITION BY RANGE (as_of)"
        )
        day = first.replace(hour=0, minute=0, second=0, microsecond=0)
        while day <= last:
            conn.execute("SELECT capmon_ensure_partition('ward_state_history', %s)", (day,))
            following = day + timedelta(days=1)
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} PARTITION OF ward_state_history_copy "
                    "FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(f"ward_state_history_copy_p{day:%Y%m%d}"),
                    sql.Literal(day),
                    sql.Literal(following),
                )
            )
            day = following
        conn.execute("CHECKPOINT")


def bare_copy(url: str, rows: list[tuple[object, ...]], *, binary: bool) -> float:
    """Seconds for one COPY of ``rows`` into the identical table, committed."""
    columns = ", ".join(WARD_STATE_COLUMNS)
    options = " (FORMAT BINARY)" if binary else ""
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE ward_state_history_copy")
        conn.commit()
        began = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY ward_state_history_copy ({columns}) FROM STDIN{options}") as copy,
        ):
            if binary:
                copy.set_types(list(WARD_STATE_TYPES))
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - began


def _sink_process(
    prefix: str, kafka: str, url: str, group: str, batch_rows: int, stop: Any, inserted: Any
) -> None:
    """One sink process of the consumer group (a spawn target: module-level, plain arguments).
    Publishes its inserted-row count in ``inserted`` (shared memory: the parent polls it
    without querying the database it is measuring)."""
    tune_process()  # as `capmon sink` does
    settings = Settings(topic_prefix=prefix, kafka_bootstrap_servers=kafka)
    metrics = SinkMetrics(CollectorRegistry())
    sink = HistorySink(
        settings,
        database_url=url,
        group_id=f"{prefix}{group}",
        batch_rows=batch_rows,
        batch_delay_s=0.5,
        metrics=metrics,
    )
    labels = {"table": "ward_state_history"}

    async def run() -> None:
        done = asyncio.Event()
        task = asyncio.create_task(sink.run(done))
        # ``stop`` is a multiprocessing event: poll it from the loop without blocking it
        while not stop.is_set() and not task.done():
            count = metrics.registry.get_sample_value("capmon_sink_rows_inserted_total", labels)
            inserted.value = int(count or 0)
            await asyncio.sleep(0.01)
        done.set()
        await task

    asyncio.run(run())


def run_sink(
    settings: Settings, url: str, n: int, *, batch_rows: int, group: str, processes: int
) -> float:
    """Seconds per row from the first committed batch to the last, times ``n`` (so the
    consumer group's start-up, the same for any throughput, is not counted)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE ward_state_history, aggregate_dirty_hours")
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    counters = [context.Value("q", 0) for _ in range(processes)]
    children = [
        context.Process(
            target=_sink_process,
            args=(
                settings.topic_prefix,
                settings.kafka_bootstrap_servers,
                url,
                group,
                batch_rows,
                stop,
                counter,
            ),
        )
        for counter in counters
    ]
    for child in children:
        child.start()
    try:
        first_count, first_at = 0, 0.0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            count = sum(counter.value for counter in counters)
            now = time.perf_counter()
            if count and not first_count:
                first_count, first_at = count, now
            if count >= n:
                return (now - first_at) * n / max(1, n - first_count)
            if not all(child.is_alive() for child in children):
                raise RuntimeError("a sink process died")
            time.sleep(0.005)
        raise TimeoutError("the sink did not write every row within 10 minutes")
    finally:
        stop.set()
        for child in children:
            child.join(timeout=60)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sink_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", help="any database URL of the server to use")
    parser.add_argument("--kafka", help="bootstrap servers (default: the settings')")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--batch-rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--processes", type=int, default=1, help="sink processes in the consumer group"
    )
    args = parser.parse_args(argv)
    base = get_settings()
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        topic_prefix=f"bench-{tag}.",
        kafka_bootstrap_servers=args.kafka or base.kafka_bootstrap_servers,
    )
    url = with_database(args.database_url or database_url(base), f"capmon_bench_sink_{tag}")

    items = messages(args.rows)
    decoded = RowBatch()
    for i, (_, value) in enumerate(items):
        add_message(decoded, value, partition=0, offset=i)
    as_ofs = sorted(r[1] for r in decoded.ward_states)  # datetimes, as the sink copies them
    print(f"producing {len(items):,} messages ...", file=sys.stderr)
    asyncio.run(
        produce(settings, settings.topic(settings.topic_ward_state), items, args.partitions)
    )
    try:
        prepare_database(url, as_ofs[0], as_ofs[-1])
        text_s = binary_s = sink_s = float("inf")
        for round_ in range(1, args.rounds + 1):
            text_s = min(text_s, this_text := bare_copy(url, decoded.ward_states, binary=False))
            binary_s = min(
                binary_s, this_binary := bare_copy(url, decoded.ward_states, binary=True)
            )
            this_sink = run_sink(
                settings,
                url,
                args.rows,
                batch_rows=args.batch_rows,
                group=f"sink-{round_}",
                processes=args.processes,
            )
            sink_s = min(sink_s, this_sink)
            print(
                f"round {round_}: bare COPY {args.rows / this_text:,.0f} rows/s (text), "
                f"{args.rows / this_binary:,.0f} rows/s (binary); "
                f"sink {args.rows / this_sink:,.0f} rows/s",
                file=sys.stderr,
            )
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM ward_state_history").fetchone()
            assert row == (args.rows,), row
        print(
            result_line(
                name="sink_throughput",
                value=args.rows / sink_s,
                unit="rows/s",
                baseline="bare_copy_text",
                baseline_value=args.rows / text_s,
                url=url,
                bare_copy_binary=round(args.rows / binary_s, 1),
                ratio_to_binary=round(binary_s / sink_s, 4),
                rows=args.rows,
                batch_rows=args.batch_rows,
                rounds=args.rounds,
                processes=args.processes,
            )
        )
    finally:
        drop_database(url)
        asyncio.run(delete_topics(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
