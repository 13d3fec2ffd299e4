"""Benchmark: events/s through the whole worker (validation, ward state, rollups, alerts,
outputs) with 1, 10 and 50 events per Kafka message, against a bare aiokafka consumer.

Method, per batch size, on a fresh topic prefix (so a fresh consumer group and tables):

1. Generate realistic events for every reference ward (``bench._events``) and produce them
   to the prefix's events topic. Timed separately; not part of the figure.
2. Baseline, same run, same topic: a bare ``AIOKafkaConsumer`` (no group) reads every
   message and decodes it with orjson, counting events. Best of ``--baseline-rounds``.
   Beside it (``extra``), faust's own ceiling: a faust agent that does only that
   (``bench.faust_ceiling``), i.e. what faust and aiokafka cost before any capmon code.
3. Start ``capmon worker`` on that backlog and wait until its consumer group has committed
   the end offsets of the events topic *and* of its internal contributions topic (so the
   region/nation stage is done too).
4. The figure is the steady processing rate between the worker's first and last output
   flush (Kafka record timestamps, set when the worker appends them). The events handled
   by the first round land in the first flush and are not in that interval: they are
   taken out using the ward states' versions (each applied change bumps a ward's version;
   the first flush carries the first round's versions). Startup (faust, group join, table
   recovery) is reported separately, as is the cruder "first output to committed" rate.

``--profile DIR`` samples the worker with py-spy while it works and adds a summary of
where its time goes (``bench.profiling``). Prints one JSON line per batch size.

    python -m bench.worker_throughput [--events-50 600000] [--sizes 50,10,1] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._events import Message, hospital_events, to_messages
from bench._inprocess import run_in_process
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
    total,
    wait_group_done,
    work_directory,
    worker_group,
)
from bench.profiling import Profiler, summarize
from capmon.settings import REPO_ROOT, Settings
from schemas.reference import ReferenceData, load_reference
from streams.topics import CONTRIBUTIONS_TOPIC, ensure_topics
from streams.worker import tune_gc

# Default events per batch size: ten seconds or more of processing at the worker's measured
# speed (~40k events/s at 50 per message, ~4.5k at 1), short enough for the 15-minute run.
DEFAULT_EVENTS = {50: 500_000, 10: 200_000, 1: 40_000}
FIRST_FLUSH_WINDOW_MS = 20  # records of one flush are appended within a few ms
BASELINE = "bare aiokafka consumer + orjson decode"


async def bare_consume(bootstrap: str, topic: str) -> tuple[int, float]:
    """Read every message of ``topic`` and decode it; (events, seconds)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        events = 0
        loads = orjson.loads
        started = time.perf_counter()
        while remaining:
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    value = loads(record.value)
                    events += len(value["events"]) if "events" in value else 1
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return events, time.perf_counter() - started
    finally:
        await consumer.stop()


async def last_timestamp(bootstrap: str, topics: list[str]) -> float | None:
    """The newest record timestamp (s) over the last record of every partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        wanted = [tp for tp in partitions if ends[tp] > 0]
        if not wanted:
            return None
        consumer.assign(wanted)
        for tp in wanted:
            consumer.seek(tp, ends[tp] - 1)
        newest: float | None = None
        remaining = set(wanted)
        deadline = time.monotonic() + 30
        while remaining and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    ts = record.timestamp / 1000
                    newest = ts if newest is None else max(newest, ts)
                remaining.discard(tp)
        return newest
    finally:
        await consumer.stop()


def flush_accounting(records: list[Any]) -> dict[str, float]:
    """From ward-state records: first flush time, and the share of all applied changes
    (sum of versions) that the first flush already carried."""
    latest: dict[bytes, int] = {}
    first_ts = min(r.timestamp for r in records)
    first_versions: dict[bytes, int] = defaultdict(int)
    for record in records:
        version = int(orjson.loads(record.value)["version"])
        latest[record.key] = max(latest.get(record.key, 0), version)
        if record.timestamp <= first_ts + FIRST_FLUSH_WINDOW_MS:
            first_versions[record.key] = max(first_versions[record.key], version)
    total_versions = sum(latest.values())
    return {
        "first_output": first_ts / 1000,
        "first_share": sum(first_versions.values()) / total_versions if total_versions else 0.0,
        "wards_with_state": float(len(latest)),
    }


async def run_size(
    reference: ReferenceData,
    messages: list[Message],
    per_message: int,
    *,
    baseline_rounds: int,
    within: float,
    profile_dir: Path | None,
    keep: bool,
    worker_settings: dict[str, str],
) -> dict[str, Any]:
    settings = bench_settings()
    bootstrap = settings.kafka_bootstrap_servers
    events_topic = settings.topic(settings.topic_events)
    contributions = settings.topic(CONTRIBUTIONS_TOPIC)
    outputs = [
        settings.topic(name)
        for name in (
            settings.topic_ward_state,
            settings.topic_rollups,
            settings.topic_alerts,
            settings.topic_invalid,
            CONTRIBUTIONS_TOPIC,
        )
    ]
    events = sum(m.events for m in messages)
    extra: dict[str, Any] = {"events_per_message": per_message, "events": events}
    if worker_settings:
        extra["worker_settings"] = worker_settings
    try:
        await ensure_topics(settings)
        say(f"{per_message}/msg: producing {len(messages)} messages ({events} events)")
        stats = await produce(bootstrap, events_topic, (m.as_tuple() for m in messages))
        extra |= {
            "messages": stats.messages,
            "bytes": stats.bytes,
            "produce_s": round(stats.seconds, 2),
            "produce_events_per_s": round(stats.events_per_s),
        }
        baselines = []
        for _ in range(baseline_rounds):
            counted, seconds = await bare_consume(bootstrap, events_topic)
            if counted != events:
                raise RuntimeError(f"baseline counted {counted} events, produced {events}")
            baselines.append(counted / seconds)
        baseline = max(baselines)
        extra["baseline_rounds_events_per_s"] = [round(b) for b in baselines]
        say(f"{per_message}/msg: baseline {baseline:,.0f} events/s; faust's own ceiling next")
        ceiling = faust_ceiling(bootstrap, events_topic, events, settings.topic("faust-ceiling"))
        extra["faust_decode_count_events_per_s"] = round(ceiling)
        say(f"{per_message}/msg: faust decode+count {ceiling:,.0f} events/s; starting the worker")

        with work_directory(keep=keep) as work_dir:
            worker = start_worker(settings, work_dir, overrides=worker_settings)
            profile = profile_dir / f"worker-{per_message}-per-message.raw" if profile_dir else None
            try:
                with Profiler(worker.pid, profile) if profile else contextlib.nullcontext():
                    done_at = await wait_group_done(
                        bootstrap,
                        worker_group(settings),
                        [events_topic, contributions],
                        within=within,
                        alive=lambda: worker.running,
                    )
            except (TimeoutError, RuntimeError) as exc:
                raise RuntimeError(f"{exc}\n--- worker log ---\n{worker.log_tail()}") from exc
            finally:
                worker.stop()
            started_at = worker.started_at or done_at
        if profile is not None:
            extra["profile"] = summarize(profile) | {"file": str(profile)}

        ward_states = await read_topic(bootstrap, settings.topic(settings.topic_ward_state))
        if not ward_states:
            raise RuntimeError("the worker wrote no ward states")
        accounting = flush_accounting(ward_states)
        last_output = await last_timestamp(bootstrap, outputs) or done_at
        first_output = accounting["first_output"]
        steady_events = events * (1 - accounting["first_share"])
        span = last_output - first_output
        value = steady_events / span if span > 0 else math.nan
        invalid = total(await end_offsets(bootstrap, [outputs[3]]), outputs[3])
        extra |= {
            "startup_s": round(first_output - started_at, 2),
            "processing_s": round(span, 2),
            "first_round_share": round(accounting["first_share"], 3),
            "wards_with_state": int(accounting["wards_with_state"]),
            "first_output_to_committed_events_per_s": round(events / (done_at - first_output)),
            "start_to_committed_s": round(done_at - started_at, 2),
            "ward_state_records": len(ward_states),
            "invalid_records": invalid,
        }
        say(f"{per_message}/msg: worker {value:,.0f} events/s over {span:.1f}s")
        return {"value": value, "baseline": baseline, "extra": extra, "settings": settings}
    finally:
        if not keep:
            await delete_prefix_topics(settings)


def faust_ceiling(bootstrap: str, topic: str, events: int, group: str) -> float:
    """events/s of a faust agent that only decodes and counts ``topic`` (bench.faust_ceiling),
    in its own process: what faust and aiokafka cost before any capmon code."""
    with tempfile.TemporaryDirectory(prefix="capmon-faust-ceiling-") as datadir:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.faust_ceiling",
                "--bootstrap",
                bootstrap,
                "--topic",
                topic,
                "--events",
                str(events),
                "--group",
                group,
                "--datadir",
                datadir,
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            timeout=300,
            check=False,
        )
    # faust's worker writes terminal escapes (its spinner) to stdout too
    lines = [line[line.find(b"{") :] for line in done.stdout.splitlines() if b'{"events"' in line]
    if not lines:
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(
            f"bench.faust_ceiling printed no result (exit {done.returncode}): {tail}"
        )
    measured = orjson.loads(lines[-1])
    return float(measured["events"]) / float(measured["seconds"])


def in_process_ceiling(
    reference: ReferenceData, messages: list[Message], limit_events: int
) -> dict[str, Any]:
    """capmon's own processing of the first ``limit_events`` events, without faust/Kafka."""
    subset: list[Message] = []
    count = 0
    for message in messages:
        if count >= limit_events:
            break
        subset.append(message)
        count += message.events
    tune_gc()  # as the worker process does (this is a benchmark's process: no harm)
    run = run_in_process(Settings(topic_prefix="inprocess."), reference, subset)
    return {
        "events": run.events,
        "events_per_s": round(run.events_per_s),
        "invalid": run.invalid_reasons,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.worker_throughput", description=__doc__)
    parser.add_argument("--sizes", default="50,10,1", help="events per message, comma-separated")
    for size, default in DEFAULT_EVENTS.items():
        parser.add_argument(f"--events-{size}", type=int, default=default, dest=f"events_{size}")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every event count")
    parser.add_argument("--baseline-rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="per worker run (s)")
    parser.add_argument("--ceiling-events", type=int, default=50_000)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy output directory")
    parser.add_argument("--keep", action="store_true", help="keep topics and worker files")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a worker setting for this run, e.g. worker_round_max_wait_s=0.5 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    reference = load_reference()
    counts = {
        size: int(getattr(args, f"events_{size}", DEFAULT_EVENTS.get(size, 100_000)) * args.scale)
        for size in sizes
    }
    # One timeline for all sizes: a smaller run takes the start of every hospital's events
    # (a time prefix is as valid a stream as the whole).
    say(f"generating {max(counts.values()):,} events")
    end = int(time.time()) - 60
    per_hospital = hospital_events(reference, max(counts.values()), end=end, seed=args.seed)
    failures = 0
    for size in sizes:
        wanted = counts[size]
        everything = sum(len(v) for v in per_hospital.values())
        share = wanted / everything
        subset = {hid: evs[: math.ceil(len(evs) * share)] for hid, evs in per_hospital.items()}
        messages = to_messages(subset, size)
        name = f"worker_throughput_{size}_per_message"
        try:
            measured = asyncio.run(
                run_size(
                    reference,
                    messages,
                    size,
                    baseline_rounds=args.baseline_rounds,
                    within=args.timeout,
                    profile_dir=args.profile,
                    worker_settings=dict(item.split("=", 1) for item in args.set),
                    keep=args.keep,
                )
            )
        except Exception as exc:
            failures += 1
            result(name, None, "events/s", BASELINE, None, error_extra(exc))
            continue
        extra = measured["extra"]
        extra["in_process_ceiling"] = in_process_ceiling(reference, messages, args.ceiling_events)
        result(
            name,
            measured["value"],
            "events/s",
            BASELINE,
            measured["baseline"],
            extra,
            settings=measured["settings"],
        )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
