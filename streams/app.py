"""The faust worker: topics and changelog tables wired around ``streams.processing``.

Two agents and a timer:

- ``wards`` reads ``capmon.events`` (keyed by hospital id) and ``capmon.ticks``; it keeps
  every ward's state and every hospital's alert state in changelog-backed tables keyed on
  the same partition as the hospital, writes ward states and hospital rollups, and sends
  each hospital's per-care-type contribution on to its region and the nation, re-keyed by
  scope through ``capmon.rollup-contributions``.
- ``scopes`` reads the contributions and keeps region and nation rollups (and their alerts)
  in a table keyed by scope.
- a timer sends one tick per owned partition, so staleness is decided inside the stream
  (where tables can be written) on a clock, not on the arrival of the next event.

Both agents consume in rounds (``_rounds``: what waits in the agent's channel, taken straight
from its queue): a round's events are decoded in bulk, coalesced per ward, and every output
goes out as one record batch per partition (``streams.output_buffer``).

Table writes are *checkpoints*: a timer (``worker_checkpoint_interval_s``) writes every state
changed since the last one straight to the local store, its changelog records through the same
batches, and only then acknowledges the input messages of the rounds it covers (nothing
else acknowledges them). faust commits acknowledged offsets only, after flushing that
producer, so the committed input never runs ahead of the changelog (at-least-once: what a
crash loses is consumed again and gives the same versioned outputs; replays of acknowledged
input are absorbed by the per-ward event-id deduplication). Writing a ward's full state once a
second instead of once per round is most of the worker's speed under load: the state carries
every event within the lateness bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust.exceptions import ConsumerNotStarted
from faust.streams import _current_event
from faust.transport.drivers import aiokafka as aiokafka_driver

from capmon.settings import Settings
from schemas.reference import ReferenceData, load_reference
from schemas.targets import TargetConfig, load_targets
from streams.output_buffer import OutputBuffer
from streams.processing import (
    InboundMessage,
    OutputTopics,
    ScopeProcessor,
    WardProcessor,
    encode_tick,
)
from streams.round_stats import RoundStats
from streams.topics import CONTRIBUTIONS_TOPIC, TABLES, TICKS_TOPIC

log = logging.getLogger(__name__)


def table_store_url(settings: Settings) -> str:
    """RocksDB (via rocksdict) for fast restarts where installable, memory otherwise."""
    if settings.table_store == "memory":
        return "memory://"
    try:
        import rocksdict  # noqa: F401
    except ImportError:
        if settings.table_store == "rocksdb":
            raise
        return "memory://"
    return "rocksdb://"


def broker_url(settings: Settings) -> str:
    servers = [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]
    return ";".join(f"kafka://{server}" for server in servers)


def output_topics(settings: Settings) -> OutputTopics:
    return OutputTopics(
        ward_state=settings.topic(settings.topic_ward_state),
        rollups=settings.topic(settings.topic_rollups),
        alerts=settings.topic(settings.topic_alerts),
        invalid=settings.topic(settings.topic_invalid),
        contributions=settings.topic(CONTRIBUTIONS_TOPIC),
        partitions=settings.topic_partitions,
    )


def _message(event: Any) -> InboundMessage:
    message = event.message
    return InboundMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
    )


class _PartitionOf:
    """Stands for an event of ``partition`` where faust's stores look for the current one
    (the RocksDB store picks the partition to write from it)."""

    __slots__ = ("__weakref__", "message", "partition")

    def __init__(self, partition: int) -> None:
        self.message = self
        self.partition = partition


class _TableStore:
    """A faust table's local store, read and written without faust's per-key send path.

    Its changelog records go through an ``OutputBuffer`` instead (see module doc).
    """

    __slots__ = ("_markers", "changelog_topic", "table")

    def __init__(self, table: Any) -> None:
        self.table = table
        self.changelog_topic: str = table.changelog_topic.get_topic_name()
        self._markers: dict[int, _PartitionOf] = {}

    def get(self, key: bytes) -> bytes | None:
        value = self.table.data.get(key)
        return value if value is None else bytes(value)

    def put(self, partition: int, key: bytes, value: bytes, out: OutputBuffer) -> None:
        marker = self._markers.get(partition)
        if marker is None:
            marker = self._markers[partition] = _PartitionOf(partition)
        token = _current_event.set(weakref.ref(cast(Any, marker)))
        try:
            self.table.data[key] = value
        finally:
            _current_event.reset(token)
        out.add(self.changelog_topic, partition, key, value)


class _Held:
    """Input messages processed but not yet acknowledged: the next checkpoint's.

    Rounds take events straight from the channel (``_rounds``), so nothing but the
    checkpoint acknowledges them: each message keeps the one reference the conductor gave
    it until then.
    """

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Any] = []

    def hold(self, events: Sequence[Any]) -> None:
        self.events.extend(events)

    def take(self) -> list[Any]:
        events, self.events = self.events, []
        return events


async def _rounds(
    app: faust.App, queue: Any, max_messages: int, within: float
) -> AsyncIterator[list[Any]]:
    """Rounds of events taken straight from the queue the conductor fills for the agent:
    up to ``max_messages``, for as long as more keep coming (at most ``within`` after the
    first), so a round grows with the backlog and a lone event waits a millisecond.

    faust's stream iteration (and ``take_events`` on it) spends ~35 µs per message in
    Python: a coroutine per event for the take buffer, sensors and an acknowledgement per
    event. The worker needs none of it: it acknowledges at checkpoints (``_Held``) and sets
    the current partition itself. It does tell faust's monitor that the stream consumes,
    which faust's livelock check (``verify_event_path``) reads.
    """
    monitor = app.monitor
    inbound = monitor.stream_inbound_time if monitor is not None else {}
    get_nowait = queue.get_nowait
    clock = time.monotonic
    while True:
        try:
            events = [await queue.get()]
        except StopAsyncIteration:  # the channel was stopped: the worker is stopping
            return
        deadline = clock() + within
        _take(get_nowait, events, max_messages)
        while len(events) < max_messages and clock() < deadline:
            before = len(events)
            await asyncio.sleep(0.001)  # the consumer delivers between our turns
            _take(get_nowait, events, max_messages)
            if len(events) == before:
                break  # a millisecond brought nothing: what was coming has come
        now = clock()
        for tp in {event.message.tp for event in events}:
            inbound[tp] = now
        yield events


def _take(get_nowait: Callable[[], Any], events: list[Any], limit: int) -> None:
    """Move what the queue holds into ``events``, up to ``limit`` in all."""
    try:
        while len(events) < limit:
            events.append(get_nowait())
    except asyncio.QueueEmpty:
        pass


def _set_fetch_max_wait(wait_ms: int) -> None:
    """Make faust's worker consumer wait at most ``wait_ms`` in a fetch (faust fixes 1,500).

    aiokafka leaves a partition out of the next fetch while it still holds records of it;
    when the fetch in flight then names only quiet partitions, the broker holds it for the
    full wait, and new events on the left-out partitions wait with it: at 1,000 events/s
    the worker's input was a second old on average (2 s at worst) while it idled at 35 %.
    """
    thread_class: Any = aiokafka_driver.AIOKafkaConsumerThread
    create = thread_class._create_worker_consumer
    original = getattr(create, "__wrapped__", create)

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms  # read when its fetcher is built, at start()
        return consumer

    create_worker_consumer.__wrapped__ = original  # type: ignore[attr-defined]
    thread_class._create_worker_consumer = create_worker_consumer


def _batch_producer(app: faust.App) -> Any:
    """The aiokafka producer inside faust's, which faust flushes before committing."""
    return cast(Any, app.producer)._ensure_producer()


def _backlog(app: faust.App, queue: Any, events: Sequence[Any]) -> int:
    """Messages waiting after this round: in the agent's queue, and in Kafka beyond the
    last offset taken (the high watermark of the consumer's latest fetch)."""
    waiting = queue.qsize()
    last: dict[Any, int] = {}
    for event in events:
        message = event.message
        last[message.tp] = message.offset
    consumer = app.consumer
    for tp, offset in last.items():
        try:
            highwater = consumer.highwater(tp)
        except (AssertionError, ConsumerNotStarted):
            # aiokafka asserts the partition is assigned; just revoked, or the consumer is
            # restarting: nothing more to fetch from it here.
            highwater = None
        if highwater is not None and highwater > offset + 1:
            waiting += highwater - offset - 1
    return int(waiting)


def _by_partition(events: Sequence[Any]) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = {}
    for event in events:
        groups.setdefault(event.message.partition, []).append(event)
    return groups


def build_app(
    settings: Settings,
    *,
    reference: ReferenceData | None = None,
    targets: TargetConfig | None = None,
) -> faust.App:
    _set_fetch_max_wait(settings.worker_fetch_max_wait_ms)
    reference = reference if reference is not None else load_reference(settings.reference_dir)
    targets = targets if targets is not None else load_targets(settings.targets_file)
    partitions = settings.topic_partitions
    app_id = settings.topic(settings.worker_id)
    datadir = settings.data_dir / "worker" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=broker_url(settings),
        store=table_store_url(settings),
        topic_partitions=partitions,
        topic_replication_factor=settings.topic_replication_factor,
        datadir=str(datadir),
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger_ms=5,
        producer_max_batch_size=1_000_000,
        producer_max_request_size=4_000_000,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=max(4096, settings.worker_round_max_messages * 2),
        consumer_max_fetch_size=settings.worker_fetch_max_bytes,
    )
    topics = output_topics(settings)
    inbound = app.topic(
        settings.topic(settings.topic_events),
        settings.topic(TICKS_TOPIC),
        key_type=bytes,
        value_type=bytes,
        # raw: faust must never decode payloads itself; a malformed message would stall
        # its stream. Decoding (and rejecting) is ours, per event.
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )
    contributions = app.topic(
        topics.contributions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )
    wards_table, hospitals_table, scopes_table = (
        app.Table(name, key_type=bytes, value_type=bytes, partitions=partitions) for name in TABLES
    )
    wards = WardProcessor(settings=settings, reference=reference, targets=targets, topics=topics)
    scopes = ScopeProcessor(settings=settings, reference=reference, targets=targets, topics=topics)
    round_max = settings.worker_round_max_messages
    round_wait = settings.worker_round_max_wait_s
    ticks_topic = settings.topic(TICKS_TOPIC)
    ward_store = _TableStore(wards_table)
    hospital_store = _TableStore(hospitals_table)
    scope_store = _TableStore(scopes_table)
    held = _Held()
    ward_stats = RoundStats("wards")
    scope_stats = RoundStats("scopes")

    emit_interval = settings.worker_emit_interval_s
    behind_messages = max(1, round_max // 2)

    async def run_rounds(
        stream: Any,
        process: Callable[[int, list[InboundMessage], datetime, OutputBuffer], None],
        processor: WardProcessor | ScopeProcessor,
        emit: Callable[[OutputBuffer], None],
        stats: RoundStats,
    ) -> None:
        producer = _batch_producer(app)
        pending_since: float | None = None
        wait = emit_interval
        clock = time.perf_counter
        # Iterating the agent's channel subscribes it: the conductor delivers to its queue.
        queue = aiter(stream.channel).queue
        async for events in _rounds(app, queue, round_max, round_wait):
            started = clock()
            oldest = min(event.message.timestamp for event in events)
            stats.round(len(events), max(0.0, time.time() - oldest))
            held.hold(events)
            now = datetime.now(UTC)
            out = OutputBuffer()
            for partition, group in _by_partition(events).items():
                # Table stores pick their partition from the current event; a round
                # mixes partitions, so set it per group.
                token = _current_event.set(weakref.ref(group[-1]))
                try:
                    process(partition, [_message(event) for event in group], now, out)
                finally:
                    _current_event.reset(token)
            processed = clock()
            stats.add("process", processed - started)
            if processor.has_pending:
                if pending_since is None:
                    pending_since = processed
                # Keeping up (less than half a round waiting): emit now, for latency.
                # Behind: emit once per interval, so a ward changed by every round of a
                # backlog is written out once per interval, not once per round. The
                # interval stretches so that emitting takes at most a tenth of the time.
                if (
                    processed - pending_since >= wait
                    or _backlog(app, queue, events) < behind_messages
                ):
                    emit(out)
                    pending_since = None
                    emitted = clock()
                    stats.add("emit", emitted - processed)
                    wait = max(emit_interval, 9 * (emitted - processed))
            flushing = clock()
            await out.flush(producer)
            stats.add("flush", clock() - flushing)

    @app.agent(inbound, name="capmon-wards")
    async def ward_agent(stream: Any) -> None:
        def process(
            partition: int, messages: list[InboundMessage], now: datetime, out: OutputBuffer
        ) -> None:
            wards.process_partition(
                partition,
                messages,
                now=now,
                ward_store=ward_store,
                hospital_store=hospital_store,
                out=out,
                emit=False,
            )

        def emit(out: OutputBuffer) -> None:
            wards.emit_pending(ward_store, hospital_store, out)

        await run_rounds(stream, process, wards, emit, ward_stats)

    @app.agent(contributions, name="capmon-scopes")
    async def scope_agent(stream: Any) -> None:
        def process(
            partition: int, messages: list[InboundMessage], now: datetime, out: OutputBuffer
        ) -> None:
            scopes.process_partition(
                partition, messages, now=now, scope_store=scope_store, out=out, emit=False
            )

        await run_rounds(stream, process, scopes, scopes.emit_pending, scope_stats)

    @app.timer(interval=settings.worker_checkpoint_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def checkpoint() -> None:
        # Rounds run synchronously between awaits, so here every held event's effect is in
        # the states about to be written, and nothing else is.
        started = time.perf_counter()
        events = held.take()
        out = OutputBuffer()
        wards.checkpoint(ward_store, hospital_store, out)
        scopes.checkpoint(scope_store, out)
        if len(out):
            await out.flush(_batch_producer(app))
        for event in events:
            event.ack()
        ward_stats.add("checkpoint", time.perf_counter() - started)

    @app.timer(interval=settings.worker_stats_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def report_stats() -> None:
        ward_stats.report(log)
        scope_stats.report(log)

    @app.timer(interval=settings.stale_check_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def send_ticks() -> None:
        assigned = [
            tp.partition for tp in app.assignor.assigned_actives() if tp.topic == ticks_topic
        ]
        if not assigned:
            return
        producer = _batch_producer(app)
        out = OutputBuffer()
        value = encode_tick(datetime.now(UTC))
        for partition in assigned:
            out.add(ticks_topic, partition, b"tick", value)
        await out.flush(producer)

    async def forget_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        # Cached decoded states of partitions we no longer own would go stale; the
        # tables themselves are restored by faust when partitions come back. faust has
        # waited for every message to be acknowledged (stream_wait_empty), i.e. for a
        # checkpoint to cover everything processed.
        if revoked:
            wards.forget_all()
            scopes.forget_all()

    app.on_partitions_revoked.connect(forget_revoked)  # type: ignore[arg-type]
    return app
