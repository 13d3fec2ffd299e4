"""Shared by the benchmark scripts: machine facts, the result line, capmon subprocesses and
the Kafka chores around them (fresh topic prefixes, offsets, clean-up).

Every script prints one JSON line per figure (``result``)::

    {"name", "value", "unit", "baseline", "baseline_value", "ratio", "machine", "extra"}

The baseline is measured in the same run on the same machine (DESIGN.md, Performance):
absolute figures on a shared 2-core machine drift, the ratio much less.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import psutil
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import DeleteGroupsRequest

from capmon.settings import REPO_ROOT, Settings
from capmon.settings import subprocess_env as capmon_env
from capmon.stack import Stack, local_database_url

T = TypeVar("T")

BENCH_PREFIX = "bench-"


# -- machine facts and the result line --------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def kafka_version(settings: Settings) -> str | None:
    """From the broker jar's name in the local stack's libs (``kafka_2.13-4.1.1.jar``)."""
    with contextlib.suppress(Exception):
        return Stack(settings, say=lambda _line: None).kafka.version()
    return None


def database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return local_database_url(settings.postgres_port)


def postgres_version(settings: Settings) -> str | None:
    with (
        contextlib.suppress(psycopg.Error, OSError),
        psycopg.connect(database_url(settings), connect_timeout=3) as conn,
    ):
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else None
    return None


@functools.cache
def _static_machine(settings_json: str) -> dict[str, Any]:
    settings = Settings.model_validate_json(settings_json)
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "kafka": kafka_version(settings),
        "postgres": postgres_version(settings),
        "faust": _package_version("faust-streaming"),
        "aiokafka": _package_version("aiokafka"),
    }


def machine(settings: Settings | None = None) -> dict[str, Any]:
    """Cores, CPU, Python, Kafka and PostgreSQL versions, and the load when measured
    (other work on a shared machine is the first suspect for a drifting figure)."""
    settings = settings if settings is not None else Settings()
    facts = dict(_static_machine(settings.model_dump_json()))
    facts["load_1m"] = round(os.getloadavg()[0], 2)
    return facts


def _rounded(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}") if abs(value) < 1000 else round(value, 1)


def result(
    name: str,
    value: float | None,
    unit: str,
    baseline_name: str | None,
    baseline_value: float | None,
    extra: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Print the figure as one JSON line on stdout and return it.

    ``ratio`` is value / baseline_value (``None`` without a baseline). A figure that
    could not be measured has ``value`` None and says why in ``extra["error"]``.
    """
    ratio = (
        _rounded(value / baseline_value)
        if value is not None and baseline_value is not None and baseline_value != 0
        else None
    )
    line = {
        "name": name,
        "value": _rounded(value),
        "unit": unit,
        "baseline": baseline_name,
        "baseline_value": _rounded(baseline_value),
        "ratio": ratio,
        "machine": machine(settings),
        "extra": dict(extra or {}),
    }
    print(json.dumps(line, default=str, allow_nan=False), flush=True)
    return line


def error_extra(exc: BaseException) -> dict[str, str]:
    """What a failed figure says in ``extra``: the error, and the end of any log tail the
    message carries (after a ``--- ... log ---`` line)."""
    text = f"{type(exc).__name__}: {exc}"
    head, sep, tail = text.partition("\n--- ")
    out = {"error": head[:500]}
    if sep:
        out["log_tail"] = (sep + tail)[-1500:].lstrip("\n")
    return out


def say(text: str) -> None:
    """Progress on stderr: stdout carries only the result lines."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# -- settings and subprocesses ---------------------------------------------------------------


def bench_settings(**overrides: Any) -> Settings:
    """Settings from the environment (the stack the runner started) with a fresh topic
    prefix, so every run has its own topics, consumer groups and faust app id."""
    prefix = f"{BENCH_PREFIX}{uuid.uuid4().hex[:8]}."
    return Settings(topic_prefix=prefix, **overrides)


class CapmonProcess:
    """One ``capmon <command>`` subprocess in its own session, with its log file."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None

    def start(self) -> CapmonProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.started_at = time.time()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "capmon.cli", *self.command],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("not started")
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (faust forks none today)."""
        process = psutil.Process(self.pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a clean shutdown, offsets committed), SIGKILL after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> CapmonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_worker(
    settings: Settings,
    work_dir: Path,
    name: str = "worker",
    overrides: Mapping[str, object] | None = None,
) -> CapmonProcess:
    """``capmon worker`` with these settings (plus ``overrides``, setting names without the
    ``CAPMON_`` prefix); its tables and log live under ``work_dir``, not the stack's data
    dir, so a run leaves nothing behind once that is removed."""
    env = capmon_env(settings, data_dir=work_dir, **dict(overrides or {}))
    # info: faust's start-up and rebalances show in the log tail of an error
    # (BENCH_WORKER_LOGLEVEL=warn for quieter logs)
    loglevel = os.environ.get("BENCH_WORKER_LOGLEVEL", "info")
    return CapmonProcess(["worker", "--loglevel", loglevel], env, work_dir / f"{name}.log").start()


@contextlib.contextmanager
def work_directory(keep: bool = False) -> Any:
    """A temporary directory for worker tables and logs, removed afterwards unless kept."""
    path = Path(tempfile.mkdtemp(prefix="capmon-bench-"))
    try:
        yield path
    finally:
        if keep:
            say(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def worker_group(settings: Settings) -> str:
    """The faust app id, which is also the worker's consumer group."""
    return settings.topic(settings.worker_id)


# -- Kafka chores ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProduceStats:
    messages: int
    events: int
    bytes: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.inf


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes, bytes, int]],
    *,
    linger_ms: int = 20,
) -> ProduceStats:
    """Send (key, value, events) messages keyed like the simulator does (Java murmur2, so
    the partition is the one the worker's tables expect) and wait for every ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=linger_ms,
        max_batch_size=1_000_000,
        max_request_size=4_000_000,
        acks=1,
    )
    await producer.start()
    count = events = size = 0
    try:
        started = time.perf_counter()
        pending: list[asyncio.Future[Any]] = []
        for key, value, n in messages:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            events += n
            size += len(value)
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
    return ProduceStats(count, events, size, seconds)


async def _with_admin(bootstrap: str, use: Callable[[AIOKafkaAdminClient], Awaitable[T]]) -> T:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        return await use(admin)
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await _partitions(consumer, topic))
        ]
        if not partitions:
            return {}
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    async def use(admin: AIOKafkaAdminClient) -> dict[TopicPartition, int]:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    return await _with_admin(bootstrap, use)


def total(offsets: Mapping[TopicPartition, int], topic: str) -> int:
    return sum(offset for tp, offset in offsets.items() if tp.topic == topic)


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.1
) -> None:
    """Poll ``check`` until it holds; TimeoutError naming ``what`` after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(every)


async def wait_group_done(
    bootstrap: str,
    group: str,
    topics: Sequence[str],
    *,
    within: float,
    alive: Callable[[], bool] = lambda: True,
    every: float = 0.1,
) -> float:
    """Wait until ``group`` has committed the end offset of every partition of ``topics``
    (re-read each time: the worker writes some of them itself, e.g. contributions).
    Returns the time.time() at which that was first seen."""

    async def use(admin: AIOKafkaAdminClient) -> float:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(await _partitions(consumer, topic))
            ]
            deadline = time.monotonic() + within
            while True:
                if not alive():
                    raise RuntimeError("the worker exited")
                ends = await consumer.end_offsets(partitions)
                try:
                    committed = await admin.list_consumer_group_offsets(group)
                except KafkaError:
                    # e.g. GroupCoordinatorNotAvailable: a fresh broker is still creating
                    # __consumer_offsets, or the group does not exist yet
                    committed = {}
                done = all(
                    (committed[tp].offset if tp in committed else 0) >= end
                    for tp, end in ends.items()
                )
                if done:
                    return time.time()
                if time.monotonic() > deadline:
                    behind = sum(
                        end - max(0, committed[tp].offset if tp in committed else 0)
                        for tp, end in ends.items()
                    )
                    raise TimeoutError(
                        f"group {group} still {behind} messages behind after {within:.0f}s"
                    )
                await asyncio.sleep(every)
        finally:
            await consumer.stop()

    return await _with_admin(bootstrap, use)


async def delete_prefix_topics(settings: Settings) -> list[str]:
    """Delete every topic of this run's prefix (outputs, faust changelogs, repartitions)
    and its consumer groups, so bench runs leave nothing on a shared broker."""
    prefix = settings.topic_prefix
    if not prefix.startswith(BENCH_PREFIX):
        raise ValueError(f"refusing to delete topics of a non-bench prefix {prefix!r}")

    async def use(admin: AIOKafkaAdminClient) -> list[str]:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            with contextlib.suppress(KafkaError):
                await admin.delete_topics(names)
        for group, _ in await admin.list_consumer_groups():
            if group.startswith(prefix):
                with contextlib.suppress(KafkaError, OSError):
                    coordinator = await admin.find_coordinator(group)
                    await admin._send_request_to_node(coordinator, DeleteGroupsRequest([group]))
        return names

    return await _with_admin(settings.kafka_bootstrap_servers, use)


async def wait_group_stable(bootstrap: str, group: str, *, within: float) -> None:
    """Wait until ``group`` has members and a settled assignment (the worker has joined)."""

    async def use(admin: AIOKafkaAdminClient) -> None:
        async def stable() -> bool:
            described = await admin.describe_consumer_groups([group])
            groups = described[0].groups if described else []
            return bool(groups) and groups[0][2] == "Stable" and bool(groups[0][5])

        await wait_until(stable, within=within, what=f"group {group} to be stable", every=0.2)

    await _with_admin(bootstrap, use)


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Mapping[TopicPartition, int] | None = None,
    within: float = 60.0,
) -> list[Any]:
    """Every record of ``topic`` from the beginning up to its end offsets (as of now, or
    ``until``), as aiokafka ``ConsumerRecord``s in partition order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        if not partitions:
            return []
        ends = dict(until) if until is not None else dict(await consumer.end_offsets(partitions))
        wanted = [tp for tp in partitions if ends.get(tp, 0) > 0]
        if not wanted:
            return []
        consumer.assign(wanted)
        await consumer.seek_to_beginning(*wanted)
        records: list[Any] = []
        deadline = time.monotonic() + within
        remaining = set(wanted)
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took over {within:.0f}s")
            batches = await consumer.getmany(timeout_ms=200, max_records=50_000)
            for tp, batch in batches.items():
                records.extend(r for r in batch if r.offset < ends[tp])
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())
