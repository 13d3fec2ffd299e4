"""The I/O edge: messages out to Kafka, to the HTTP ingest, to a file, or nowhere.

``run`` drives the pure model with a ``Pacer`` and hands each tick's messages to a
``Sink``. Sinks keep each hospital's messages in order (Kafka: one key, one partition,
one producer; HTTP: one request at a time per hospital) and count what they sent.

Kafka throughput comes from the producer's own batching: large ``linger_ms`` and
``max_batch_size`` and no per-message waiting (``send`` only enqueues; delivery is
checked in bulk), so many record batches are in flight at once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from capmon.settings import Settings
from simulator.emission import Emission
from simulator.encode import BatchEncoder, Message
from simulator.ground_truth import GroundTruth
from simulator.model import Simulation
from simulator.pacing import Pacer


class PublishError(RuntimeError):
    """A sink could not deliver messages (Kafka errors, HTTP failures after retries)."""


class Sink(Protocol):
    """Where messages go, in order per key.

    ``send`` may hold messages back to fill larger units (Kafka record batches); ``ship``
    lets go of everything held (end of a tick); ``flush`` ships and waits for delivery,
    raising ``PublishError`` for anything that failed.
    """

    async def start(self) -> None: ...
    async def send(self, messages: Sequence[Message]) -> None: ...
    async def ship(self) -> None: ...
    async def flush(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(slots=True)
class SinkCounts:
    messages: int = 0
    events: int = 0
    bytes: int = 0

    def add(self, message: Message) -> None:
        self.messages += 1
        self.events += message.events
        self.bytes += len(message.value)


class KafkaSink:
    """aiokafka producers fed whole record batches, several requests in flight.

    ``producer.send`` per message costs tens of microseconds of bookkeeping (a future,
    the accumulator, metadata checks); appending to a ``BatchBuilder`` costs about one,
    and one ``send_batch`` ships a megabyte. aiokafka keeps one produce request in flight
    per broker connection, so the partitions are spread over ``producers`` producers
    (each partition always on the same one: order per key is kept). The partition of a
    key is the default (murmur2, as Java's), so every other producer agrees with it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str | None = None,
        linger_ms: int = 20,
        max_batch_bytes: int = 1_000_000,  # under the broker's default max.message.bytes
        compression: str | None = None,
        acks: int | str = 1,
        producers: int = 2,
    ) -> None:
        if producers < 1:
            raise ValueError("producers must be >= 1")
        self.settings = settings
        self.topic = topic or settings.topic(settings.topic_events)
        self.counts = SinkCounts()
        self.producer_count = producers
        self._options: dict[str, Any] = {
            "bootstrap_servers": settings.kafka_bootstrap_servers,
            "linger_ms": linger_ms,
            "max_batch_size": max_batch_bytes,
            "max_request_size": 8 * max_batch_bytes,
            "compression_type": compression,
            "acks": acks,
            "enable_idempotence": False,
            "request_timeout_ms": 30_000,
        }
        self._producers: list[AIOKafkaProducer] = []
        self._partitions: list[int] = []
        self._route: dict[bytes, tuple[int, AIOKafkaProducer]] = {}
        self._builders: dict[int, BatchBuilder] = {}
        self._pending: list[asyncio.Future[Any]] = []

    async def start(self, *, metadata_timeout_s: float = 30.0) -> None:
        try:
            for _ in range(self.producer_count):
                producer = AIOKafkaProducer(**self._options)
                self._producers.append(producer)
                await producer.start()
            try:
                partitions = await asyncio.wait_for(
                    self._producers[0].partitions_for(self.topic), metadata_timeout_s
                )
            except TimeoutError:
                raise PublishError(
                    f"topic {self.topic} not found on {self.settings.kafka_bootstrap_servers} "
                    "(create it with `capmon topics`)"
                ) from None
            self._partitions = sorted(partitions)
        except BaseException:
            await self.stop()
            raise

    def _route_of(self, key: bytes) -> tuple[int, AIOKafkaProducer]:
        route = self._route.get(key)
        if route is None:
            partitions = self._partitions
            partition = DefaultPartitioner()(key, partitions, partitions)
            route = (partition, self._producers[partition % len(self._producers)])
            self._route[key] = route
        return route

    async def send(self, messages: Sequence[Message]) -> None:
        if not self._producers:
            raise PublishError("KafkaSink.start() was not called")
        builders = self._builders
        counts = self.counts
        for message in messages:
            partition, producer = self._route_of(message.key)
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = producer.create_batch()
            if builder.append(key=message.key, value=message.value, timestamp=None) is None:
                await self._ship(partition, producer, builder)
                builder = builders[partition] = producer.create_batch()
                if builder.append(key=message.key, value=message.value, timestamp=None) is None:
                    raise PublishError(f"a message of {len(message.value)} bytes is too large")
            counts.add(message)

    async def ship(self) -> None:
        builders, self._builders = self._builders, {}
        for partition, builder in builders.items():
            await self._ship(partition, self._producers[partition % len(self._producers)], builder)
        if len(self._pending) >= 1000:
            self._check(done_only=True)

    async def _ship(
        self, partition: int, producer: AIOKafkaProducer, builder: BatchBuilder
    ) -> None:
        future = await producer.send_batch(builder, self.topic, partition=partition)
        self._pending.append(future)

    def _check(self, *, done_only: bool) -> None:
        keep: list[asyncio.Future[Any]] = []
        for future in self._pending:
            if not future.done():
                if done_only:
                    keep.append(future)
                    continue
                raise PublishError("a Kafka send did not complete")
            error = future.exception()
            if error is not None:
                raise PublishError(f"Kafka send failed: {error!r}") from error
        self._pending = keep

    async def flush(self) -> None:
        if not self._producers:
            return
        await self.ship()
        for producer in self._producers:
            await producer.flush()
        if self._pending:
            await asyncio.wait(self._pending)
        self._check(done_only=False)

    async def stop(self) -> None:
        producers, self._producers = self._producers, []
        for producer in producers:
            await producer.stop()


class HttpSink:
    """POST /api/v1/events with a bearer token, one request at a time per hospital.

    ``tokens`` maps hospital ids to publisher tokens (role ``publisher:<hospital>``);
    ``token`` is used for the others (e.g. an admin token). 5xx answers and connection
    errors are retried with backoff (resending is safe: duplicates have no effect).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        tokens: dict[str, str] | None = None,
        concurrency: int = 8,
        retries: int = 4,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.tokens = tokens or {}
        self.retries = retries
        self.counts = SinkCounts()
        self.accepted = 0
        self.rejected = 0
        self.status_counts: dict[int, int] = {}
        self._client = client
        self._own_client = client is None
        self._slots = asyncio.Semaphore(concurrency)
        self._chains: dict[bytes, asyncio.Task[None]] = {}
        self._errors: list[BaseException] = []

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30.0)

    async def send(self, messages: Sequence[Message]) -> None:
        if self._errors:
            raise PublishError(f"HTTP ingest failed: {self._errors[0]!r}") from self._errors[0]
        for message in messages:
            previous = self._chains.get(message.key)
            task = asyncio.create_task(self._post_after(previous, message))
            self._chains[message.key] = task
            self.counts.add(message)

    async def _post_after(self, previous: asyncio.Task[None] | None, message: Message) -> None:
        if previous is not None:
            await asyncio.shield(previous)
        async with self._slots:
            try:
                await self._post(message)
            except Exception as exc:  # reported by the next send or by flush
                self._errors.append(exc)

    async def _post(self, message: Message) -> None:
        client = self._client
        assert client is not None
        hospital = message.key.decode()
        token = self.tokens.get(hospital, self.token)
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                response = await client.post(self.url, content=message.value, headers=headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                status = response.status_code
                if status < 500 or attempt == self.retries:
                    self.status_counts[status] = self.status_counts.get(status, 0) + 1
                    if status in (401, 403):
                        raise PublishError(f"HTTP ingest refused the token ({status})")
                    if status in (202, 400):
                        body = response.json()
                        self.accepted += int(body.get("accepted", 0))
                        self.rejected += int(body.get("rejected", 0))
                    elif status >= 500:
                        raise PublishError(f"HTTP ingest answered {status}")
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def ship(self) -> None:
        return None

    async def flush(self) -> None:
        tasks = list(self._chains.values())
        if tasks:
            await asyncio.gather(*tasks)
        self._chains.clear()
        if self._errors:
            raise PublishError(f"HTTP ingest failed: {self._errors[0]!r}") from self._errors[0]

    async def stop(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
        self._client = None


class FileSink:
    """One message value per line (``-`` for stdout): to look at, or to replay elsewhere."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.counts = SinkCounts()
        self._handle: IO[bytes] | None = None

    async def start(self) -> None:
        if self.path == "-":
            self._handle = sys.stdout.buffer
        else:
            self._handle = Path(self.path).open("wb")  # noqa: ASYNC230, SIM115 - closed in stop()

    async def send(self, messages: Sequence[Message]) -> None:
        assert self._handle is not None
        for message in messages:
            self._handle.write(message.value)
            self._handle.write(b"\n")
            self.counts.add(message)

    async def ship(self) -> None:
        return None

    async def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    async def stop(self) -> None:
        if self._handle is not None and self.path != "-":
            self._handle.close()
        self._handle = None


class MemorySink:
    """Keeps the messages (tests) or only counts them (``keep=False``: generation speed)."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.messages: list[Message] = []
        self.counts = SinkCounts()

    async def start(self) -> None:
        return None

    async def send(self, messages: Sequence[Message]) -> None:
        for message in messages:
            self.counts.add(message)
        if self.keep:
            self.messages.extend(messages)

    async def ship(self) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@dataclass(slots=True)
class RunStats:
    events: int = 0
    messages: int = 0
    bytes: int = 0
    bad_events: int = 0
    sim_start: int = 0
    sim_end: int = 0
    wall_s: float = 0.0  # the whole run
    publish_s: float = 0.0  # encoding and sending only (pregenerated runs: the hot path)
    generate_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Over the whole run (a paced run: about its speed's event rate)."""
        return self.events / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def publish_events_per_s(self) -> float:
        """Over the time spent encoding and sending (a load test's hot path)."""
        return self.events / self.publish_s if self.publish_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "messages": self.messages,
            "bytes": self.bytes,
            "bad_events": self.bad_events,
            "sim_start": self.sim_start,
            "sim_end": self.sim_end,
            "wall_s": round(self.wall_s, 3),
            "generate_s": round(self.generate_s, 3),
            "publish_s": round(self.publish_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "publish_events_per_s": round(self.publish_events_per_s, 1),
            **self.extra,
        }


async def _send(sink: Sink, messages: list[Message], stats: RunStats, pacer: Pacer | None) -> None:
    """Hand messages to the sink; under a rate limit in slices of about 1/20 s each."""
    for message in messages:
        stats.messages += 1
        stats.events += message.events
        stats.bytes += len(message.value)
    if pacer is None or pacer.rate is None:
        await sink.send(messages)
        return
    step = max(1, int(pacer.rate / 20 / 50))
    for i in range(0, len(messages), step):
        part = messages[i : i + step]
        await pacer.throttle(sum(m.events for m in part))
        await sink.send(part)
        await sink.ship()  # at a limited rate, latency matters more than full batches


def _count(stats: RunStats, emissions: list[Emission]) -> None:
    for e in emissions:
        if e.rejected is not None:
            stats.bad_events += 1


async def run(
    sim: Simulation,
    sink: Sink,
    *,
    pacer: Pacer,
    end: int | None,
    batch_size: int = 50,
    truth: GroundTruth | None = None,
    step_s: int = 900,
    tick_s: float = 0.1,
    stop: asyncio.Event | None = None,
    progress: Callable[[RunStats], None] | None = None,
    progress_every_s: float = 10.0,
) -> RunStats:
    """Advance the model tick by tick and publish what it emits, until ``end`` or ``stop``."""
    encoder = BatchEncoder(batch_size)
    stats = RunStats(sim_start=sim.start, sim_end=sim.now)
    started = time.perf_counter()
    next_progress = started + progress_every_s
    throttle = pacer.rate is not None
    while stop is None or not stop.is_set():
        target = pacer.target(sim.now, step_s)
        if end is not None:
            target = min(target, end)
        if target > sim.now:
            generated = time.perf_counter()
            emissions = sim.advance(target)
            if truth is not None:
                truth.observe(emissions)
            _count(stats, emissions)
            sending = time.perf_counter()
            stats.generate_s += sending - generated
            await _send(sink, encoder.encode(emissions), stats, pacer if throttle else None)
            await sink.ship()
            stats.publish_s += time.perf_counter() - sending
            stats.sim_end = sim.now
        if end is not None and sim.now >= end:
            break
        now = time.perf_counter()
        if progress is not None and now >= next_progress:
            stats.wall_s = now - started
            progress(stats)
            next_progress = now + progress_every_s
        if not pacer.unpaced:
            await pacer.tick(tick_s)
        else:
            await asyncio.sleep(0)  # let the producer's sender run
    flushing = time.perf_counter()
    await sink.flush()
    stats.publish_s += time.perf_counter() - flushing
    stats.wall_s = time.perf_counter() - started
    if truth is not None:
        truth.finish(sim.now)
    return stats


def pregenerate(sim: Simulation, end: int, *, step_s: int = 3600) -> list[list[Emission]]:
    """Every emission up to ``end``, in chunks of ``step_s`` simulated seconds (load tests)."""
    chunks: list[list[Emission]] = []
    while sim.now < end:
        chunks.append(sim.advance(min(sim.now + step_s, end)))
    return chunks


async def publish_pregenerated(
    chunks: Iterable[list[Emission]],
    sink: Sink,
    *,
    batch_size: int = 50,
    pacer: Pacer | None = None,
    slice_events: int = 1000,
) -> RunStats:
    """The load-test hot path: encode (orjson) and send events generated beforehand.

    Works in slices of ``slice_events`` and yields to the event loop between them, so
    the producers' sender runs while the next slice is encoded: serialization overlaps
    the broker's round trips instead of alternating with them.
    """
    encoder = BatchEncoder(batch_size)
    stats = RunStats()
    limit = pacer if pacer is not None and pacer.rate is not None else None
    started = time.perf_counter()
    for emissions in chunks:
        for i in range(0, len(emissions), slice_events):
            piece = emissions[i : i + slice_events]
            await _send(sink, encoder.encode(piece, flush=False), stats, limit)
            await asyncio.sleep(0)
    await _send(sink, encoder.encode((), flush=True), stats, limit)
    await sink.flush()
    stats.publish_s = stats.wall_s = time.perf_counter() - started
    return stats
