"""Benchmark: end-to-end latency from produce to WebSocket receipt, at fixed event rates,
and the highest rate at which the p99 stays under one second.

The whole live path on a fresh topic prefix: events to Kafka -> ``capmon worker`` (ward
state, rollups) -> ``capmon api`` (topic reader, live state, WebSocket hub) -> a client
subscribed to every region (``{"op":"subscribe","scopes":["region:01",...]}``), which then
receives every ward's ``WardState`` updates.

Identifying events at receipt: every event of a ward gets its own event-time second
(strictly increasing per ward), and a ward state says ``as_of`` (the newest event time
applied). An event has arrived when the first update of its ward with ``as_of`` at or after
its time is received; its latency is that receipt time minus the time it was handed to the
producer. The worker coalesces a round's events of one ward into one update and the API
keeps only the latest update per key for a busy client: both are part of the path measured,
so an event that never gets an update of its own is timed by the update that contains it.

Load: realistic events (census, admissions, discharges, cancels, capacity changes) for all
reference wards in turn. Every ``--publish-interval-ms`` (default 100 ms) each hospital
publishes what it has as one batch message: a hospital system publishing in near real
time. The latency runs from that publish; the wait inside the publisher is its own (with
100 ms, at most 100 ms more). Events are pre-generated per rate before its timed run.

Event times run ahead of the wall clock at the higher rates (one second per event per
ward), so the worker's future tolerance is raised for this run
(``CAPMON_FUTURE_TOLERANCE_SECONDS``); nothing else differs from production settings.

Baseline, same run: the same client process reads the events topic with a bare aiokafka
consumer; produce -> consume latency is the broker's and the client's share of the path.
It also reads the ward-state topic: produce -> ward state written (the record's Kafka
timestamp) and -> read splits the path between the worker and the API (``extra``).

The receiving client runs in its own process, so the producer never delays a receipt.

    python -m bench.e2e_latency [--rates 100,1000,5000] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import math
import multiprocessing
import multiprocessing.synchronize
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from psycopg import sql

from bench._events import WardTimeline, source_of
from bench.common import (
    CapmonProcess,
    bench_settings,
    capmon_env,
    database_url,
    delete_prefix_topics,
    error_extra,
    percentile,
    result,
    say,
    start_worker,
    wait_until,
    work_directory,
)
from capmon.settings import REPO_ROOT, Settings
from capmon.stack.postgres_config import with_database
from schemas.reference import ReferenceData, Ward, load_reference
from streams.topics import ensure_topics

BENCH_DATABASE = "capmon_bench_api"
P99_LIMIT_MS = 1000.0
FUTURE_TOLERANCE_S = 6 * 3600
BASELINE = "produce -> bare aiokafka consumer p99 (same client process)"


# -- the receiving client (its own process) ---------------------------------------------------
#
# It appends what it receives to a file, one record a line, flushed every 0.2 s, so the
# benchmark can read the receipts while it runs (to wait for a run to drain, and to judge
# a rate before choosing the next one):
#   W <ward> <as_of> <received>              a ward-state update on the WebSocket
#   K <ward> <at> <received> <events>        an events message, by its first event
#   S <ward> <as_of> <received> <written>    a ward-state record on Kafka (worker's stage)


@dataclass
class Signals:
    """Shared with the receiver process."""

    ready: multiprocessing.synchronize.Event  # every subscribed scope's snapshot is in
    stop: multiprocessing.synchronize.Event


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("".join(lines))


async def _receive(
    url: str,
    scopes: list[str],
    bootstrap: str,
    topics: tuple[str, str],
    signals: Signals,
    out: Path,
) -> None:
    from websockets.asyncio.client import connect

    events_topic, ward_state_topic = topics
    pending: list[str] = []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    await consumer._client.force_metadata_update()
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)

    async def read_kafka() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for tp, records in batches.items():
                for record in records:
                    value = orjson.loads(record.value)
                    if tp.topic == ward_state_topic:
                        pending.append(
                            f"S {value['ward_id']} {_epoch(value['as_of'])} {now:.6f} "
                            f"{record.timestamp / 1000:.3f}\n"
                        )
                    elif tp.topic == events_topic:
                        events = value.get("events", [value])
                        first = events[0]
                        pending.append(
                            f"K {first['ward_id']} {_epoch(first['occurred_at'])} {now:.6f} "
                            f"{len(events)}\n"
                        )

    async def flush() -> None:
        while True:
            await asyncio.sleep(0.2)
            if pending:
                lines = pending[:]
                pending.clear()
                _append(out, lines)

    async with connect(url, max_size=None, ping_interval=None) as ws:
        await ws.send(orjson.dumps({"op": "subscribe", "scopes": scopes}).decode())
        snapshots = 0
        tasks = [asyncio.create_task(read_kafka()), asyncio.create_task(flush())]
        try:
            while not signals.stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), timeout=0.2)
                except TimeoutError:
                    continue
                now = time.time()
                message = orjson.loads(frame)
                kind = message.get("type")
                if kind == "update":
                    data = message["data"]
                    if data.get("kind") == "ward_state":
                        pending.append(f"W {data['ward_id']} {_epoch(data['as_of'])} {now:.6f}\n")
                elif kind == "snapshot":
                    snapshots += 1
                    for item in message["items"]:
                        if item.get("kind") == "ward_state":
                            pending.append(f"W {item['ward_id']} {_epoch(item['as_of'])} {now}\n")
                    if snapshots >= len(scopes):
                        signals.ready.set()
                elif kind == "error":
                    raise RuntimeError(f"WebSocket error: {message}")
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await consumer.stop()
            _append(out, pending)


def receiver_main(
    url: str,
    scopes: list[str],
    bootstrap: str,
    topics: tuple[str, str],
    signals: Signals,
    out: str,
) -> None:
    asyncio.run(_receive(url, scopes, bootstrap, topics, signals, Path(out)))


class Receipts:
    """The receiver's file, read incrementally by the benchmark."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.ws: list[tuple[str, int, float]] = []
        self.kafka: list[tuple[str, int, float, int]] = []
        self.worker_received: list[tuple[str, int, float]] = []
        self.worker_written: list[tuple[str, int, float]] = []
        self.newest: dict[str, int] = {}  # per ward, the newest as_of on the WebSocket

    def refresh(self) -> None:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        end = chunk.rfind(b"\n") + 1  # a line being written stays for next time
        self.offset += end
        for raw in chunk[:end].decode().splitlines():
            kind, ward, at, received, *rest = raw.split()
            if kind == "W":
                as_of = int(at)
                self.ws.append((ward, as_of, float(received)))
                if as_of > self.newest.get(ward, 0):
                    self.newest[ward] = as_of
            elif kind == "K":
                self.kafka.append((ward, int(at), float(received), int(rest[0])))
            elif kind == "S":
                self.worker_received.append((ward, int(at), float(received)))
                self.worker_written.append((ward, int(at), float(rest[0])))

    def covers(self, last_at: dict[str, int]) -> bool:
        """Every ward has been seen on the WebSocket as of its given time or later."""
        return all(self.newest.get(ward, 0) >= at for ward, at in last_at.items())


# -- the load ---------------------------------------------------------------------------------


@dataclass
class Load:
    """Every ward's timeline, in a fixed shuffled order, with its last event second."""

    reference: ReferenceData
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    order: list[Ward] = field(default_factory=list)
    timelines: dict[str, WardTimeline] = field(default_factory=dict)
    last_at: dict[str, int] = field(default_factory=dict)
    cursor: int = 0

    def __post_init__(self) -> None:
        self.order = sorted(self.reference.wards.values(), key=lambda w: w.ward_id)
        self.rng.shuffle(self.order)
        for index, ward in enumerate(self.order):
            siblings = [w.ward_id for w in self.reference.wards_of_hospital(ward.hospital_id)]
            self.timelines[ward.ward_id] = WardTimeline(
                ward, siblings, self.rng, f"x{index}", heartbeat_share=0.0
            )

    def take(self, count: int) -> list[tuple[Ward, int, dict[str, object]]]:
        """The next ``count`` events, each at its ward's next second (never behind the
        wall clock by more than five minutes, so a slow rate stays near real time)."""
        floor = int(time.time()) - 300
        out: list[tuple[Ward, int, dict[str, object]]] = []
        for _ in range(count):
            ward = self.order[self.cursor % len(self.order)]
            self.cursor += 1
            at = max(self.last_at.get(ward.ward_id, 0) + 1, floor)
            self.last_at[ward.ward_id] = at
            out.append((ward, at, self.timelines[ward.ward_id].next(at)))
        return out

    def census_for_all(self) -> list[tuple[Ward, int, dict[str, object]]]:
        floor = int(time.time()) - 300
        out = []
        for ward in self.order:
            at = max(self.last_at.get(ward.ward_id, 0) + 1, floor)
            self.last_at[ward.ward_id] = at
            out.append((ward, at, self.timelines[ward.ward_id].census_now(at)))
        return out


@dataclass
class Sent:
    """What one timed run produced: per event its ward, event second and send time."""

    events: list[tuple[str, int, float]] = field(default_factory=list)
    messages: int = 0
    started: float = 0.0
    finished: float = 0.0

    @property
    def rate(self) -> float:
        span = self.finished - self.started
        return len(self.events) / span if span > 0 else 0.0


async def send_at_rate(
    producer: AIOKafkaProducer,
    topic: str,
    events: list[tuple[Ward, int, dict[str, object]]],
    rate: float,
    interval_s: float,
) -> Sent:
    """Send ``events`` at ``rate`` per second: every ``interval_s``, what is due, one batch
    message per hospital."""
    sent = Sent()
    sent.started = time.time()
    index = 0
    while index < len(events):
        due = min(len(events), int((time.time() - sent.started) * rate) + 1)
        if due > index:
            by_hospital: dict[str, list[tuple[Ward, int, dict[str, object]]]] = defaultdict(list)
            for item in events[index:due]:
                by_hospital[item[0].hospital_id].append(item)
            for hospital_id, items in by_hospital.items():
                value = orjson.dumps(
                    {
                        "schema_version": 1,
                        "source": source_of(hospital_id),
                        "hospital_id": hospital_id,
                        "events": [event for _, _, event in items],
                    }
                )
                now = time.time()
                await producer.send(topic, value, key=hospital_id.encode())
                sent.messages += 1
                sent.events += [(ward.ward_id, at, now) for ward, at, _ in items]
            index = due
        await asyncio.sleep(interval_s)
    sent.finished = time.time()
    return sent


# -- matching ---------------------------------------------------------------------------------


def ws_latencies(
    sent: list[tuple[str, int, float]], ws_records: list[tuple[str, int, float]]
) -> tuple[list[float], int]:
    """Latency (ms) of every sent event to the first update of its ward as of its time or
    later; and how many were never seen."""
    per_ward: dict[str, tuple[list[int], list[float]]] = {}
    for ward_id, as_of, received in ws_records:
        running, times = per_ward.setdefault(ward_id, ([], []))
        running.append(max(as_of, running[-1]) if running else as_of)
        times.append(received)
    latencies: list[float] = []
    missing = 0
    for ward_id, at, sent_at in sent:
        found = per_ward.get(ward_id)
        if found is None:
            missing += 1
            continue
        running, times = found
        i = bisect.bisect_left(running, at)
        if i == len(running):
            missing += 1
            continue
        latencies.append(max(0.0, (times[i] - sent_at) * 1000))
    return latencies, missing


def kafka_latencies(
    sent: list[tuple[str, int, float]], kafka_records: list[tuple[str, int, float, int]]
) -> list[float]:
    """Produce -> bare consumer latency (ms) per event (a message's events share it)."""
    sent_at = {(ward_id, at): t for ward_id, at, t in sent}
    latencies: list[float] = []
    for ward_id, at, received, count in kafka_records:
        t = sent_at.get((ward_id, at))
        if t is not None:
            latencies += [max(0.0, (received - t) * 1000)] * count
    return latencies


def summary(latencies: list[float]) -> dict[str, float | None]:
    return {
        f"p{p}_ms": None if (v := percentile(latencies, p)) is None else round(v, 1)
        for p in (50, 95, 99)
    }


# -- the run ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_database(url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))


def create_token(settings: Settings, db_url: str) -> str:
    env = capmon_env(settings, database_url=db_url)
    done = subprocess.run(
        [sys.executable, "-m", "capmon.cli", "token", "create", "--role", "national"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[0]


@dataclass
class Phase:
    rate: float
    sent: Sent
    drained: bool = True
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    baseline: list[float] = field(default_factory=list)
    # produce -> ward-state record written by the worker (its Kafka timestamp), and
    # produce -> that record read by a bare consumer: the worker's share of the path
    worker_written: list[float] = field(default_factory=list)
    worker_received: list[float] = field(default_factory=list)

    def measure(self, receipts: Receipts) -> None:
        events = self.sent.events
        self.latencies, self.missing = ws_latencies(events, receipts.ws)
        self.baseline = kafka_latencies(events, receipts.kafka)
        self.worker_written, _ = ws_latencies(events, receipts.worker_written)
        self.worker_received, _ = ws_latencies(events, receipts.worker_received)

    @property
    def p99(self) -> float | None:
        return percentile(self.latencies, 99)

    def passes(self) -> bool:
        """p99 under a second, every event seen, and the producer kept the rate."""
        p99 = self.p99
        return (
            p99 is not None
            and p99 < P99_LIMIT_MS
            and self.missing == 0
            and self.sent.rate >= 0.9 * self.rate
        )

    def summary(self) -> dict[str, Any]:
        return {
            "rate_target": self.rate,
            "rate_sent": round(self.sent.rate, 1),
            "events": len(self.sent.events),
            "messages": self.sent.messages,
            "received": len(self.latencies),
            "missing": self.missing,
            "drained": self.drained,
            **summary(self.latencies),
            "baseline": summary(self.baseline),
            "to_ward_state_written": summary(self.worker_written),
            "to_ward_state_consumed": summary(self.worker_received),
        }


@dataclass
class Bench:
    """Everything one timed run needs."""

    producer: AIOKafkaProducer
    topic: str
    load: Load
    receipts: Receipts
    args: argparse.Namespace
    processes: tuple[CapmonProcess, ...]
    saturated: str | None = None  # why no further run would measure anything

    def check_alive(self) -> None:
        for process in self.processes:
            if not process.running:
                raise RuntimeError(f"capmon {process.command[0]} exited")

    async def phase(self, rate: float, seconds: float) -> Phase:
        events = self.load.take(max(1, int(rate * seconds)))
        last_at: dict[str, int] = {}
        for ward, at, _ in events:
            last_at[ward.ward_id] = at
        say(f"{rate:,.0f} events/s for {seconds:.0f}s")
        sent = await send_at_rate(self.producer, self.topic, events, rate, self.args.interval)
        await self.producer.flush()
        # Drained once every ward's last event is on the WebSocket (or after the cap).
        deadline = time.monotonic() + self.args.drain
        drained = False
        while time.monotonic() < deadline:
            self.check_alive()
            await asyncio.to_thread(self.receipts.refresh)
            if self.receipts.covers(last_at):
                drained = True
                break
            await asyncio.sleep(0.2)
        phase = Phase(rate, sent, drained)
        phase.measure(self.receipts)
        if not drained:
            # The pipeline is behind: let it catch up before the next run, which would
            # otherwise time this one's backlog (not part of this phase's figures).
            deadline = time.monotonic() + self.args.recover
            while time.monotonic() < deadline:
                self.check_alive()
                await asyncio.to_thread(self.receipts.refresh)
                if self.receipts.covers(last_at):
                    break
                await asyncio.sleep(0.5)
            else:
                self.saturated = (
                    f"the pipeline had not caught up with {rate:,.0f} events/s "
                    f"{self.args.drain + self.args.recover:.0f}s after the run"
                )
        p99 = phase.p99
        say(
            f"{rate:,.0f} events/s: p99 "
            + ("-" if p99 is None else f"{p99:,.0f} ms")
            + f", {phase.missing} not seen{'' if drained else ' (not drained)'}"
        )
        return phase

    async def search(self, fixed: list[Phase]) -> list[Phase]:
        """The highest rate with p99 < 1 s: double from the highest passing fixed rate (or
        halve from the lowest when none passes) until the answer changes side, then bisect
        (geometrically) while steps remain."""
        args = self.args
        passing = [p.rate for p in fixed if p.passes()]
        failing = [p.rate for p in fixed if not p.passes()]
        low = max(passing) if passing else None
        high = min((r for r in failing if low is None or r > low), default=None)
        tried: list[Phase] = []
        for _ in range(args.search_steps):
            if self.saturated:
                break
            if high is None:
                assert low is not None
                rate = low * 2
            elif low is None:
                rate = high / 2
            else:
                if high / low < 1.25:
                    break
                rate = math.sqrt(low * high)
            if not args.min_rate <= rate <= args.max_rate:
                break
            phase = await self.phase(round(rate), args.search_seconds)
            tried.append(phase)
            if phase.passes():
                low = phase.rate
            else:
                high = phase.rate
        return tried


async def run(
    args: argparse.Namespace,
) -> tuple[list[Phase], list[Phase], Settings, dict[str, Any]]:
    reference = load_reference()
    settings = bench_settings()
    bootstrap = settings.kafka_bootstrap_servers
    events_topic = settings.topic(settings.topic_events)
    ward_state_topic = settings.topic(settings.topic_ward_state)
    db_url = with_database(database_url(settings), BENCH_DATABASE)
    ensure_database(db_url)
    port = free_port()
    info: dict[str, Any] = {
        "publish_interval_ms": args.publish_interval_ms,
        "worker_future_tolerance_s": FUTURE_TOLERANCE_S,
    }
    ctx = multiprocessing.get_context("spawn")
    signals = Signals(ctx.Event(), ctx.Event())
    fixed: list[Phase] = []
    search: list[Phase] = []
    out = Path(tempfile.mkstemp(prefix="capmon-e2e-", suffix=".txt")[1])
    receipts = Receipts(out)
    try:
        await ensure_topics(settings)
        token = create_token(settings, db_url)
        with work_directory(keep=args.keep) as work_dir:
            worker = start_worker(
                settings, work_dir, overrides={"future_tolerance_seconds": FUTURE_TOLERANCE_S}
            )
            api = CapmonProcess(
                ["api", "--port", str(port), "--log-level", "warning"],
                capmon_env(settings, database_url=db_url, data_dir=work_dir),
                work_dir / "api.log",
            ).start()
            receiver: Any = None
            try:
                await _wait_ready(port, api, within=args.timeout)
                receiver = ctx.Process(
                    target=receiver_main,
                    args=(
                        f"ws://127.0.0.1:{port}/ws?token={token}",
                        [f"region:{code}" for code in sorted(reference.regions)],
                        bootstrap,
                        (events_topic, ward_state_topic),
                        signals,
                        str(out),
                    ),
                    daemon=True,
                )
                receiver.start()
                await wait_until(
                    _event_is_set(signals.ready, receiver),
                    within=args.timeout,
                    what="the WebSocket client's snapshots",
                )
                producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
                await producer.start()
                bench = Bench(
                    producer, events_topic, Load(reference), receipts, args, (worker, api)
                )
                try:
                    say("warm-up: one census per ward until every ward is on the WebSocket")
                    warm_up = bench.load.census_for_all()
                    await send_at_rate(producer, events_topic, warm_up, 5000, args.interval)

                    async def warm() -> bool:
                        bench.check_alive()
                        await asyncio.to_thread(receipts.refresh)
                        return receipts.covers({w.ward_id: at for w, at, _ in warm_up})

                    await wait_until(
                        warm, within=args.timeout, what="every ward's state on the WebSocket"
                    )
                    for rate in args.rates:
                        if bench.saturated:
                            break
                        fixed.append(await bench.phase(rate, args.seconds))
                    if args.search:
                        search = await bench.search(fixed)
                    info["saturated"] = bench.saturated
                finally:
                    await producer.stop()
            except (TimeoutError, RuntimeError) as exc:
                raise RuntimeError(
                    f"{exc}\n--- worker log ---\n{worker.log_tail(20)}"
                    f"\n--- api log ---\n{api.log_tail(20)}"
                ) from exc
            finally:
                signals.stop.set()
                if receiver is not None:
                    receiver.join(timeout=30)
                    if receiver.is_alive():
                        receiver.kill()
                api.stop()
                worker.stop()
        return fixed, search, settings, info
    finally:
        await asyncio.to_thread(out.unlink, True)
        if not args.keep:
            await delete_prefix_topics(settings)


def _event_is_set(event: multiprocessing.synchronize.Event, process: Any) -> Any:
    async def check() -> bool:
        if not process.is_alive():
            raise RuntimeError("the WebSocket client exited")
        return event.is_set()

    return check


async def _wait_ready(port: int, api: CapmonProcess, *, within: float) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:

        async def ready() -> bool:
            if not api.running:
                raise RuntimeError("capmon api exited")
            with contextlib.suppress(httpx.HTTPError):
                return (await client.get("/readyz")).status_code == 200
            return False

        await wait_until(ready, within=within, what="the API's /readyz", every=0.25)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.e2e_latency", description=__doc__)
    parser.add_argument("--rates", default="100,1000,5000")
    parser.add_argument("--seconds", type=float, default=10.0, help="per fixed rate")
    parser.add_argument("--search-seconds", type=float, default=6.0)
    parser.add_argument("--search-steps", type=int, default=4)
    parser.add_argument("--min-rate", type=float, default=10)
    parser.add_argument("--max-rate", type=float, default=80_000)
    parser.add_argument(
        "--publish-interval-ms", type=float, default=100.0, help="each hospital's batch interval"
    )
    parser.add_argument("--no-search", dest="search", action="store_false")
    parser.add_argument(
        "--drain", type=float, default=10.0, help="a run's receipts must arrive within this (s)"
    )
    parser.add_argument(
        "--recover", type=float, default=120.0, help="max wait for a backlog to clear (s)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="start-up waits (s)")
    parser.add_argument("--quick", action="store_true", help="100 and 1000/s for 3 s, no search")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    args.interval = args.publish_interval_ms / 1000
    if args.quick:
        args.rates, args.seconds, args.search = [100.0, 1000.0], 3.0, False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        fixed, search, settings, info = asyncio.run(run(args))
    except Exception as exc:
        for rate in args.rates:
            result(
                f"e2e_latency_{rate:.0f}_eps",
                None,
                "ms",
                BASELINE,
                None,
                error_extra(exc),
            )
        return 1
    for phase in fixed:
        result(
            f"e2e_latency_{phase.rate:.0f}_eps",
            phase.p99,
            "ms",
            BASELINE,
            percentile(phase.baseline, 99),
            phase.summary() | info,
            settings=settings,
        )
    for rate in args.rates[len(fixed) :]:
        result(
            f"e2e_latency_{rate:.0f}_eps",
            None,
            "ms",
            BASELINE,
            None,
            {"error": f"not run: {info.get('saturated')}"},
            settings=settings,
        )
    if args.search:
        phases = sorted(fixed + search, key=lambda p: p.rate)
        passing = [p.rate for p in phases if p.passes()]
        result(
            "e2e_max_rate_p99_under_1s",
            max(passing) if passing else 0.0,
            "events/s",
            None,
            None,
            {
                "tried": [
                    {
                        "rate": p.rate,
                        "rate_sent": round(p.sent.rate, 1),
                        "p99_ms": None if p.p99 is None else round(p.p99, 1),
                        "missing": p.missing,
                        "drained": p.drained,
                        "passes": p.passes(),
                    }
                    for p in phases
                ],
                "note": "doubling from the highest passing fixed rate (halving from the "
                "lowest when none passes), then bisecting geometrically; the limit lies "
                "between the highest passing and the next higher rate tried",
            },
            settings=settings,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
