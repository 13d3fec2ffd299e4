"""Benchmark: worker restart time, from process start to serving restored state again,
with the full reference data, for the RocksDB and the in-memory table stores.

Per store:

1. Baseline, same run: a cold start with nothing to restore. On a fresh, empty topic
   prefix, start ``capmon worker`` and at once produce one census for the probe ward; the
   time from process start to the ward-state record for it (its Kafka timestamp: when the
   worker wrote it) is faust start-up, group join and empty tables.
2. On another fresh prefix, produce a realistic history for every ward, let a worker
   process all of it, remember the probe ward's latest ward state and stop the worker
   cleanly (SIGTERM).
3. Start it again and at once produce one census for the probe ward, one second after its
   last event. The restart time runs from the process start to the ward-state record for
   that census, measured like the baseline. The record must carry the version before the
   restart plus one: the state was restored, not rebuilt.

The memory store rebuilds its tables from the changelog topics on every start; RocksDB
keeps them on disk and only reads the changelog past its stored offsets.

    python -m bench.worker_restart [--stores rocksdb,memory] [--hours 24]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._events import census, event_id, generate
from bench.common import (
    bench_settings,
    delete_prefix_topics,
    end_offsets,
    error_extra,
    produce,
    read_topic,
    result,
    say,
    start_worker,
    wait_group_done,
    work_directory,
    worker_group,
)
from capmon.settings import Settings
from schemas.reference import ReferenceData, Ward, load_reference
from streams.topics import CONTRIBUTIONS_TOPIC, ensure_topics


class WardStateWatch:
    """Follows the ward-state topic from its current end, for records of one ward."""

    def __init__(self, bootstrap: str, topic: str, ward_id: str) -> None:
        self.ward_key = ward_id.encode()
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> WardStateWatch:
        await self.consumer.start()
        await self.consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(self.topic, p)
            for p in sorted(self.consumer.partitions_for_topic(self.topic) or ())
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end now, before anything new is written
            await self.consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def wait_for(
        self, as_of: int, *, within: float, alive: Any
    ) -> tuple[float, dict[str, Any]]:
        """(record timestamp in s, message) of the first state of the ward as of ``as_of``
        (epoch seconds) or later."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError("the worker exited")
            batches = await self.consumer.getmany(timeout_ms=100)
            for records in batches.values():
                for record in records:
                    if record.key != self.ward_key:
                        continue
                    message = orjson.loads(record.value)
                    if _seconds(message["as_of"]) >= as_of:
                        return record.timestamp / 1000, message
        raise TimeoutError(f"no ward state as of {as_of} (epoch s) within {within:.0f}s")


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _probe_census(ward: Ward, at: int, occupied: int, available: int) -> bytes:
    return orjson.dumps(
        census(
            ward,
            at,
            eid=event_id(random.Random(at)),
            occupied=occupied,
            available=available,
        )
    )


async def time_to_probe(
    settings: Settings,
    work_dir: Path,
    name: str,
    probe: Ward,
    value: bytes,
    probe_at: int,
    *,
    within: float,
) -> tuple[float, dict[str, Any]]:
    """Start a worker, produce ``value`` (a census of ``probe`` at ``probe_at``) at once;
    (seconds from process start to the ward state for it, that ward state)."""
    bootstrap = settings.kafka_bootstrap_servers
    topic = settings.topic(settings.topic_ward_state)
    async with WardStateWatch(bootstrap, topic, probe.ward_id) as watch:
        worker = start_worker(settings, work_dir, name)
        try:
            await produce(
                bootstrap,
                settings.topic(settings.topic_events),
                [(probe.hospital_id.encode(), value, 1)],
            )
            written_at, state = await watch.wait_for(
                probe_at, within=within, alive=lambda: worker.running
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n--- worker log ---\n{worker.log_tail()}") from exc
        finally:
            worker.stop()
    return written_at - (worker.started_at or written_at), state


async def cold_start(probe: Ward, store: str, *, within: float, keep: bool) -> float:
    settings = bench_settings(table_store=store)
    try:
        await ensure_topics(settings)
        at = int(time.time()) - 60
        value = _probe_census(probe, at, 1, max(1, probe.typical_available_beds))
        with work_directory(keep=keep) as work_dir:
            seconds, _ = await time_to_probe(
                settings, work_dir, "worker-cold", probe, value, at, within=within
            )
        return seconds
    finally:
        if not keep:
            await delete_prefix_topics(settings)


async def measure(
    reference: ReferenceData,
    store: str,
    *,
    hours: float,
    gap_s: float,
    within: float,
    keep: bool,
) -> dict[str, Any]:
    probe: Ward = sorted(reference.wards.values(), key=lambda w: w.ward_id)[0]
    cold = await cold_start(probe, store, within=within, keep=keep)
    say(f"{store}: cold start {cold:.1f}s")
    settings = bench_settings(table_store=store)
    bootstrap = settings.kafka_bootstrap_servers
    events_topic = settings.topic(settings.topic_events)
    ward_state_topic = settings.topic(settings.topic_ward_state)
    per_ward = max(1, round(hours * 3600 / gap_s))
    end = int(time.time()) - 120
    messages = generate(reference, len(reference.wards) * per_ward, 50, end=end, mean_gap_s=gap_s)
    try:
        await ensure_topics(settings)
        stats = await produce(bootstrap, events_topic, (m.as_tuple() for m in messages))
        say(f"{store}: {stats.events:,} events produced; building the state")
        with work_directory(keep=keep) as work_dir:
            first = start_worker(settings, work_dir, "worker-1")
            try:
                await wait_group_done(
                    bootstrap,
                    worker_group(settings),
                    [events_topic, settings.topic(CONTRIBUTIONS_TOPIC)],
                    within=within,
                    alive=lambda: first.running,
                )
            except (TimeoutError, RuntimeError) as exc:
                raise RuntimeError(f"{exc}\n--- worker log ---\n{first.log_tail()}") from exc
            finally:
                first.stop()
            states = await read_topic(bootstrap, ward_state_topic)
            before = max(
                (orjson.loads(r.value) for r in states if r.key == probe.ward_id.encode()),
                key=lambda m: int(m["version"]),
            )
            changelogs = [
                f"{worker_group(settings)}-{table}-changelog"
                for table in ("wards", "hospitals", "scopes")
            ]
            changelog_records = sum((await end_offsets(bootstrap, changelogs)).values())
            say(f"{store}: restarting")
            probe_at = _seconds(before["as_of"]) + 1
            value = _probe_census(
                probe,
                probe_at,
                int(before["counts"]["occupied"]),
                int(before["counts"]["available_beds"]),
            )
            restart, after = await time_to_probe(
                settings, work_dir, "worker-2", probe, value, probe_at, within=within
            )
        restored = int(after["version"]) == int(before["version"]) + 1
        return {
            "restart": restart,
            "cold": cold,
            "extra": {
                "table_store": store,
                "wards": len(reference.wards),
                "events_before_restart": stats.events,
                "history_hours": hours,
                "changelog_records": changelog_records,
                "probe_ward": probe.ward_id,
                "version_before": int(before["version"]),
                "version_after": int(after["version"]),
                "state_restored": restored,
            },
            "settings": settings,
            "restored": restored,
        }
    finally:
        if not keep:
            await delete_prefix_topics(settings)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.worker_restart", description=__doc__)
    parser.add_argument("--stores", default="rocksdb,memory")
    parser.add_argument("--hours", type=float, default=24.0, help="history per ward")
    parser.add_argument("--gap-s", type=float, default=1800.0, help="mean time between events")
    parser.add_argument("--timeout", type=float, default=300.0, help="per worker run (s)")
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    reference = load_reference()
    failures = 0
    for store in [s.strip() for s in args.stores.split(",") if s.strip()]:
        name = f"worker_restart_{store}"
        settings = Settings()
        try:
            measured = asyncio.run(
                measure(
                    reference,
                    store,
                    hours=args.hours,
                    gap_s=args.gap_s,
                    within=args.timeout,
                    keep=args.keep,
                )
            )
        except Exception as exc:
            failures += 1
            result(name, None, "s", None, None, error_extra(exc), settings=settings)
            continue
        if not measured["restored"]:
            failures += 1
        result(
            name,
            measured["restart"],
            "s",
            "cold start, nothing to restore (same run)",
            measured["cold"],
            measured["extra"],
            settings=measured["settings"],
        )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
