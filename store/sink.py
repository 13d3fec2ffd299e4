"""``capmon sink``: the output topics into the history database, losslessly.

Why a process of its own rather than an agent in the faust worker: the worker's job is to keep
live state moving, and a database outage must not stall it (faust would have to stop acking
and its changelog, rollups and alerts would stall with it); faust acknowledges offsets per
message on its own schedule, while the sink must commit only after the database has committed a
whole batch; and the sink scales on its own consumer group, one replica per few partitions,
independent of the worker and API replicas.

How it stays lossless and idempotent:

- records are decoded (orjson) into rows and batched by count and by time;
- a batch is written in one transaction: COPY into TEMP staging tables, then
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` on each table's natural key (store/writer.py),
  so a replay of the same offsets writes nothing twice;
- Kafka offsets are committed only after that transaction has committed;
- while the database is down the write is retried with exponential backoff (logged, counted in
  ``capmon_sink_db_errors_total``), fetching is paused and Kafka holds the backlog; the consumer
  keeps polling (paused) so it stays in its group, and resumes by itself;
- writing overlaps with fetching and decoding: ``writers`` connections each write one batch at
  a time (while one runs its INSERT, the next batch is already being copied), and offsets are
  committed in batch order, each once every earlier batch is in the database;
- at a rebalance every uncommitted batch is dropped: the partitions are re-read from their
  committed offsets by whichever sink gets them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import start_http_server

from capmon.settings import Settings, get_settings
from store.backoff import Backoff
from store.database import database_url, redacted
from store.rows import MalformedMessageError, RowBatch, add_message
from store.sink_metrics import SinkMetrics
from store.writer import HistoryWriter, WriteCounts

log = logging.getLogger(__name__)

# Errors worth waiting out: the server is down, restarting or overloaded, a deadlock or
# serialization failure, or (ProgrammingError) the schema is not there yet. Dropping data
# because of them would be worse than stalling loudly.
TRANSIENT_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, psycopg.ProgrammingError)
# Errors caused by the data of some row: isolated row by row, the offending rows skipped.
DATA_ERRORS = (psycopg.DataError, psycopg.IntegrityError)

# While the writer is behind: how often the paused consumer polls to stay in its group.
BACKPRESSURE_POLL_S = 0.5
# Records decoded per poll: the writer shares the event loop, and decoding a whole batch in one
# go would leave the database waiting for the next statement of the batch in flight.
POLL_RECORDS = 500


def sink_group_id(settings: Settings) -> str:
    return f"{settings.topic_prefix}capmon-sink"


def sink_topics(settings: Settings) -> list[str]:
    return [
        settings.topic(settings.topic_ward_state),
        settings.topic(settings.topic_rollups),
        settings.topic(settings.topic_alerts),
        settings.topic(settings.topic_invalid),
    ]


@dataclass(slots=True)
class _Batch:
    generation: int
    deadline: float
    rows: RowBatch = field(default_factory=RowBatch)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset per partition
    records: int = 0
    seq: int = -1  # hand-off order: offsets are committed in this order


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: HistorySink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._sink.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %d partition(s)", len(assigned))


class HistorySink:
    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str,
        group_id: str | None = None,
        batch_rows: int = 5000,
        batch_delay_s: float = 0.5,
        backoff: Backoff | None = None,
        metrics: SinkMetrics | None = None,
        shutdown_timeout_s: float = 30.0,
        writers: int = 2,
    ) -> None:
        self.settings = settings
        self.topics = sink_topics(settings)
        self.group_id = group_id or sink_group_id(settings)
        self.batch_rows = batch_rows
        self.batch_delay_s = batch_delay_s
        self.backoff = backoff or Backoff()
        self.metrics = metrics or SinkMetrics()
        self.shutdown_timeout_s = shutdown_timeout_s
        self._writers = [HistoryWriter(database_url) for _ in range(max(1, writers))]
        self._queue: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=len(self._writers))
        # Bumped at every rebalance: batches of an older generation are never committed.
        self._generation = 0
        self._next_seq = 0  # given to the next batch handed off
        self._commit_next = 0  # the batch whose offsets are committed next
        self._written: dict[int, _Batch] = {}  # in the database, offsets not yet committed
        self._commit_lock = asyncio.Lock()
        self._giving_up = False
        self.started = asyncio.Event()  # set once the consumer has joined its group

    # -- rebalance ---------------------------------------------------------------------------

    def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._generation += 1
        self._written.clear()
        self._commit_next = self._next_seq
        dropped = 0
        while not self._queue.empty():
            if self._queue.get_nowait() is not None:
                dropped += 1
        if dropped:
            self.metrics.discarded_batches.inc(dropped)
        if revoked:
            log.info("%d partition(s) revoked; uncommitted batches dropped", len(revoked))

    # -- consuming ---------------------------------------------------------------------------

    def _new_batch(self) -> _Batch:
        return _Batch(self._generation, time.monotonic() + self.batch_delay_s)

    def _add(self, batch: _Batch, data: dict[TopicPartition, list[ConsumerRecord]]) -> _Batch:
        if batch.generation != self._generation:
            # A rebalance happened while polling: what was gathered will be re-read.
            if batch.records:
                self.metrics.discarded_batches.inc()
            batch = self._new_batch()
        rows = batch.rows
        for tp, records in data.items():
            if not records:
                continue
            partition = tp.partition
            for record in records:
                value = record.value
                if value is None:  # tombstones on compacted topics carry no state
                    continue
                try:
                    add_message(rows, value, partition=partition, offset=record.offset)
                except MalformedMessageError as exc:
                    self.metrics.malformed.labels(tp.topic).inc()
                    log.error(
                        "skipping malformed record %s/%d@%d: %s",
                        tp.topic,
                        partition,
                        record.offset,
                        exc,
                    )
            batch.offsets[tp] = records[-1].offset + 1
            batch.records += len(records)
            self.metrics.messages.labels(tp.topic).inc(len(records))
        return batch

    async def _hand_off(
        self, consumer: AIOKafkaConsumer, batch: _Batch, stop: asyncio.Event
    ) -> _Batch:
        """Queue ``batch`` for the writer and return the next batch to fill.

        The writer's slot normally frees within one write. While it stays taken longer (the
        database is slow or down), fetching is paused, so Kafka keeps the backlog, and the
        consumer keeps polling (paused) to stay in its group past ``max.poll.interval.ms``.
        Records such a poll returns (partitions newly assigned at a rebalance are not paused
        yet) start the next batch.
        """
        following = self._new_batch()
        if batch.generation != self._generation:
            self.metrics.discarded_batches.inc()  # re-read after the rebalance
            return following
        batch.seq = self._next_seq
        self._next_seq += 1
        put = asyncio.ensure_future(self._queue.put(batch))
        waited_since = time.monotonic()
        try:
            while not (await asyncio.wait({put}, timeout=BACKPRESSURE_POLL_S))[0]:
                if batch.generation != self._generation:
                    self.metrics.discarded_batches.inc()  # re-read after the rebalance
                    break
                if stop.is_set() and time.monotonic() - waited_since > self.shutdown_timeout_s:
                    log.warning("shutting down with an unwritten batch; it will be re-read")
                    break
                consumer.pause(*consumer.assignment())
                self.metrics.paused.set(1)
                data = await consumer.getmany(timeout_ms=0)
                if data:
                    following = self._add(following, data)
        finally:
            put.cancel()  # no-op once queued; a batch queued anyway is checked by the writer
        paused = consumer.paused()
        if paused:
            consumer.resume(*paused)
            self.metrics.paused.set(0)
        return following

    async def _consume(
        self, consumer: AIOKafkaConsumer, stop: asyncio.Event, writers: list[asyncio.Task[None]]
    ) -> None:
        batch = self._new_batch()
        while not stop.is_set():
            for writer in writers:
                if writer.done():
                    writer.result()  # re-raise what ended the writer
                    raise RuntimeError("a writer of the sink stopped")
            timeout_s = (
                max(0.0, batch.deadline - time.monotonic()) if batch.records else self.batch_delay_s
            )
            data = await consumer.getmany(
                timeout_ms=int(timeout_s * 1000),
                max_records=max(1, min(POLL_RECORDS, self.batch_rows - batch.records)),
            )
            if not self.started.is_set() and consumer.assignment():
                self.started.set()
            batch = self._add(batch, data)
            if not batch.records:
                batch.deadline = time.monotonic() + self.batch_delay_s
            elif batch.records >= self.batch_rows or time.monotonic() >= batch.deadline:
                batch = await self._hand_off(consumer, batch, stop)
        if batch.records:
            await self._hand_off(consumer, batch, stop)

    # -- writing -----------------------------------------------------------------------------

    def _record_counts(self, counts: WriteCounts) -> None:
        for table, staged in counts.staged.items():
            inserted = counts.inserted.get(table, 0)
            self.metrics.rows_inserted.labels(table).inc(inserted)
            self.metrics.rows_duplicate.labels(table).inc(max(0, staged - inserted))

    async def _write_isolating(self, rows: RowBatch, writer: HistoryWriter) -> None:
        """Write row by row, skipping rows the database refuses (a data error)."""
        singles = (
            [RowBatch(ward_states=[r]) for r in rows.ward_states]
            + [RowBatch(rollups=[r]) for r in rows.rollups]
            + [RowBatch(alerts=[r]) for r in rows.alerts]
            + [RowBatch(invalid=[r]) for r in rows.invalid]
        )
        for single in singles:
            try:
                self._record_counts(await writer.write(single))
            except DATA_ERRORS as exc:
                self.metrics.rows_rejected.inc()
                log.error("skipping a row the database refuses: %s", exc)

    async def _write(
        self, consumer: AIOKafkaConsumer, batch: _Batch, writer: HistoryWriter
    ) -> None:
        attempt = 0
        isolate = False
        while True:
            if batch.generation != self._generation or self._giving_up:
                self.metrics.discarded_batches.inc()
                return
            started = time.monotonic()
            try:
                if isolate:
                    await self._write_isolating(batch.rows, writer)
                else:
                    self._record_counts(await writer.write(batch.rows))
                break
            except DATA_ERRORS as exc:
                self.metrics.db_errors.labels("data").inc()
                log.error("batch refused (%s); writing it row by row", exc)
                isolate = True
            except TRANSIENT_ERRORS as exc:
                attempt += 1
                delay = self.backoff.delay(attempt)
                self.metrics.db_errors.labels("transient").inc()
                self.metrics.db_up.set(0)
                self.metrics.backoff_seconds.set(delay)
                hint = (
                    " (run `capmon migrate`?)" if isinstance(exc, psycopg.ProgrammingError) else ""
                )
                log.warning(
                    "database write failed (attempt %d): %s%s; retrying in %.2f s",
                    attempt,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    hint,
                    delay,
                )
                await asyncio.sleep(delay)
        self.metrics.write_seconds.observe(time.monotonic() - started)
        self.metrics.batches.inc()
        self.metrics.db_up.set(1)
        self.metrics.backoff_seconds.set(0)
        if attempt:
            log.info("database write succeeded after %d failed attempt(s)", attempt)
        await self._commit_in_order(consumer, batch)

    async def _commit_in_order(self, consumer: AIOKafkaConsumer, batch: _Batch) -> None:
        """Commit the offsets of every batch in the database up to the first one that is not."""
        if batch.generation != self._generation:
            return  # rows are in; the offsets belong to a previous assignment
        self._written[batch.seq] = batch
        async with self._commit_lock:
            offsets: dict[TopicPartition, int] = {}
            while self._commit_next in self._written:
                # later batches hold later offsets of a partition: the last one wins
                offsets.update(self._written.pop(self._commit_next).offsets)
                self._commit_next += 1
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:
                # The database has the rows; who reads these offsets again writes nothing twice.
                self.metrics.commit_failures.inc()
                log.warning("offset commit failed after the database commit: %s", exc)
                return
        for tp, offset in offsets.items():
            self.metrics.committed_offset.labels(tp.topic, str(tp.partition)).set(offset)

    async def _write_loop(self, consumer: AIOKafkaConsumer, writer: HistoryWriter) -> None:
        while True:
            batch = await self._queue.get()
            if batch is None:
                return
            await self._write(consumer, batch, writer)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and write until ``stop`` is set, then write what was read and commit it."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self.batch_rows,
        )
        consumer.subscribe(self.topics, listener=_Rebalance(self))
        await consumer.start()
        writers = [
            asyncio.create_task(self._write_loop(consumer, writer), name=f"capmon-sink-writer-{i}")
            for i, writer in enumerate(self._writers)
        ]
        try:
            await self._consume(consumer, stop, writers)

            async def drain() -> None:
                for _ in writers:
                    await self._queue.put(None)  # after the batches still queued
                await asyncio.gather(*writers)

            try:
                await asyncio.wait_for(drain(), timeout=self.shutdown_timeout_s)
            except TimeoutError:
                log.warning("database still failing at shutdown; unwritten rows will be re-read")
                self._giving_up = True
        finally:
            for task in writers:
                task.cancel()
            for task in writers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await consumer.stop()
            for writer in self._writers:
                await writer.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capmon sink", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: CAPMON_DATABASE_URL or the local stack")
    parser.add_argument("--group-id", help="consumer group (default: <prefix>capmon-sink)")
    parser.add_argument(
        "--batch-rows", type=int, default=5000, help="rows per transaction, at most"
    )
    parser.add_argument(
        "--batch-delay", type=float, default=0.5, help="seconds a batch waits to fill, at most"
    )
    parser.add_argument(
        "--metrics-port", type=int, default=9464, help="Prometheus /metrics port (0: none)"
    )
    parser.add_argument(
        "--metrics-host", default="127.0.0.1", help="address to serve /metrics on (0.0.0.0: all)"
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=2,
        help="database connections writing batches concurrently (offsets still commit in order)",
    )
    return parser


def tune_process() -> None:
    """Process-wide settings for a sink process.

    Decoding allocates a dict per JSON object while a batch keeps thousands of rows alive, so
    the default cyclic-GC threshold (700 allocations) runs a collection every few messages and
    costs about a third of the decoding time. The sink creates no reference cycles worth
    collecting quickly: collect far less often, and never scan what was there at start-up.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    tune_process()
    settings = get_settings()
    url = args.database_url or database_url(settings)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_host)
    sink = HistorySink(
        settings,
        database_url=url,
        group_id=args.group_id,
        batch_rows=args.batch_rows,
        batch_delay_s=args.batch_delay,
        writers=args.writers,
    )
    log.info("sink: %s -> %s (group %s)", ", ".join(sink.topics), redacted(url), sink.group_id)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await sink.run(stop)

    asyncio.run(_main())
    return 0
