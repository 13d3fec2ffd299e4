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
- writing overlaps with fetching and decoding the next batch (one batch in flight, one waiting);
- at a rebalance every uncommitted batch is dropped: the partitions are re-read from their
  committed offsets by whichever sink gets them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
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

PAUSED_POLL_MS = 200
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
    ) -> None:
        self.settings = settings
        self.topics = sink_topics(settings)
        self.group_id = group_id or sink_group_id(settings)
        self.batch_rows = batch_rows
        self.batch_delay_s = batch_delay_s
        self.backoff = backoff or Backoff()
        self.metrics = metrics or SinkMetrics()
        self.shutdown_timeout_s = shutdown_timeout_s
        self._writer = HistoryWriter(database_url)
        self._queue: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=1)
        # Bumped at every rebalance: batches of an older generation are never committed.
        self._generation = 0
        self._giving_up = False
        self.started = asyncio.Event()  # set once the consumer has joined its group

    # -- rebalance ---------------------------------------------------------------------------

    def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._generation += 1
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
        """Queue ``batch`` for the writer; while the writer is behind, pause fetching.

        Returns the next batch to fill (with any records that arrived while waiting: partitions
        newly assigned at a rebalance are not paused until the next round).
        """
        waited_since = time.monotonic()
        while True:
            if batch.generation != self._generation:
                if batch.records:
                    self.metrics.discarded_batches.inc()
                return self._new_batch()
            try:
                self._queue.put_nowait(batch)
                break
            except asyncio.QueueFull:
                pass
            if stop.is_set() and time.monotonic() - waited_since > self.shutdown_timeout_s:
                log.warning("shutting down with an unwritten batch; it will be re-read")
                return self._new_batch()
            consumer.pause(*consumer.assignment())
            self.metrics.paused.set(1)
            # Polling (paused) keeps the consumer in its group past max.poll.interval.ms.
            data = await consumer.getmany(timeout_ms=PAUSED_POLL_MS)
            if data:
                batch = self._add(batch, data)
        paused = consumer.paused()
        if paused:
            consumer.resume(*paused)
            self.metrics.paused.set(0)
        return self._new_batch()

    async def _consume(
        self, consumer: AIOKafkaConsumer, stop: asyncio.Event, writer: asyncio.Task[None]
    ) -> None:
        batch = self._new_batch()
        while not stop.is_set():
            if writer.done():
                writer.result()  # re-raise what ended the writer
                raise RuntimeError("the sink's writer stopped")
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

    async def _write_isolating(self, rows: RowBatch) -> None:
        """Write row by row, skipping rows the database refuses (a data error)."""
        singles = (
            [RowBatch(ward_states=[r]) for r in rows.ward_states]
            + [RowBatch(rollups=[r]) for r in rows.rollups]
            + [RowBatch(alerts=[r]) for r in rows.alerts]
            + [RowBatch(invalid=[r]) for r in rows.invalid]
        )
        for single in singles:
            try:
                self._record_counts(await self._writer.write(single))
            except DATA_ERRORS as exc:
                self.metrics.rows_rejected.inc()
                log.error("skipping a row the database refuses: %s", exc)

    async def _write(self, consumer: AIOKafkaConsumer, batch: _Batch) -> None:
        attempt = 0
        isolate = False
        while True:
            if batch.generation != self._generation or self._giving_up:
                self.metrics.discarded_batches.inc()
                return
            started = time.monotonic()
            try:
                if isolate:
                    await self._write_isolating(batch.rows)
                else:
                    self._record_counts(await self._writer.write(batch.rows))
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
        if batch.generation != self._generation or not batch.offsets:
            return  # rows are in; the offsets belong to a previous assignment
        try:
            await consumer.commit(batch.offsets)
        except KafkaError as exc:
            # The database has the rows; whoever reads these offsets again writes nothing twice.
            self.metrics.commit_failures.inc()
            log.warning("offset commit failed after the database commit: %s", exc)
            return
        for tp, offset in batch.offsets.items():
            self.metrics.committed_offset.labels(tp.topic, str(tp.partition)).set(offset)

    async def _write_loop(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await self._queue.get()
            if batch is None:
                return
            await self._write(consumer, batch)

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
        writer = asyncio.create_task(self._write_loop(consumer), name="capmon-sink-writer")
        try:
            await self._consume(consumer, stop, writer)
            await self._queue.put(None)
            try:
                await asyncio.wait_for(asyncio.shield(writer), timeout=self.shutdown_timeout_s)
            except TimeoutError:
                log.warning("database still failing at shutdown; unwritten rows will be re-read")
                self._giving_up = True
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await consumer.stop()
            await self._writer.close()


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
        "--metrics-port",
        type=int,
        default=9464,
        help="Prometheus /metrics port (0: none); process i of --processes uses port + i",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="sink processes in the consumer group, each taking a share of the partitions "
        "(decoding is CPU-bound Python: one process uses one core)",
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


def _run(args: argparse.Namespace) -> int:
    tune_process()
    settings = get_settings()
    url = args.database_url or database_url(settings)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")
    sink = HistorySink(
        settings,
        database_url=url,
        group_id=args.group_id,
        batch_rows=args.batch_rows,
        batch_delay_s=args.batch_delay,
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


def _child(args: argparse.Namespace) -> None:
    _configure_logging()
    raise SystemExit(_run(args))


def _supervise(args: argparse.Namespace) -> int:
    """Run ``args.processes`` sinks as child processes; stop them all when one ends or on a
    signal (a supervisor such as systemd or Kubernetes restarts the whole service)."""
    context = multiprocessing.get_context("spawn")
    children = []
    for index in range(args.processes):
        child_args = argparse.Namespace(**vars(args))
        child_args.processes = 1
        child_args.metrics_port = args.metrics_port + index if args.metrics_port else 0
        child = context.Process(target=_child, args=(child_args,), name=f"capmon-sink-{index}")
        child.start()
        children.append(child)

    def stop_children(*_: object) -> None:
        for child in children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_children)
    signal.signal(signal.SIGINT, stop_children)
    multiprocessing.connection.wait([child.sentinel for child in children])
    stop_children()
    for child in children:
        child.join()
    return max((child.exitcode or 0) for child in children)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
    )


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    _configure_logging()
    if args.processes > 1:
        return _supervise(args)
    return _run(args)
