"""Reads the output topics (ward-state, rollups, alerts) into the live state, then follows.

No consumer group: every API replica reads every partition itself (the topics are
compacted and small), so any replica can answer any query and push any change. At start
the reader assigns all partitions, seeks to the beginning and records the end offsets;
it is *caught up* once its position has reached them on every partition (that is the
readiness condition). Partitions or topics that appear later are picked up by a
periodic metadata refresh and read from their beginning.

Kafka being unreachable is not fatal: the reader retries with backoff and the app stays
not-ready meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import Field, TypeAdapter, ValidationError

from api.channels import Message
from api.live_state import LiveState
from api.metrics import ApiMetrics
from capmon.settings import Settings
from schemas.messages import AlertEvent, ScopeRollup, WardState

log = logging.getLogger(__name__)

_message_adapter: TypeAdapter[Message] = TypeAdapter(
    Annotated[WardState | ScopeRollup | AlertEvent, Field(discriminator="kind")]
)

REFRESH_INTERVAL_S = 10.0
LAG_INTERVAL_S = 2.0


def decode(value: bytes) -> tuple[Message, str]:
    """The message and its JSON text. Strict validation means the text already is the
    canonical serialization, so it is kept as is instead of being dumped again."""
    message = _message_adapter.validate_json(value, strict=True)
    return message, value.decode()


class TopicReader:
    def __init__(self, settings: Settings, live: LiveState, metrics: ApiMetrics) -> None:
        self.settings = settings
        self.live = live
        self.metrics = metrics
        self.topics = [
            settings.topic(settings.topic_ward_state),
            settings.topic(settings.topic_rollups),
            settings.topic(settings.topic_alerts),
        ]
        self.caught_up = asyncio.Event()
        self.connected = False
        self.last_error: str | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._targets: dict[TopicPartition, int] = {}
        self._assigned: set[TopicPartition] = set()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="topic-reader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_consumer()

    async def _close_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        self.connected = False
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _run_forever(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("topic reader: %s; retrying in %.1fs", self.last_error, backoff)
                await self._close_consumer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    # --- reading -------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"capmon-api-{self.settings.topic_prefix or 'reader'}",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        self._consumer = consumer
        self.connected = True
        self.last_error = None
        self._assigned = set()
        await self._refresh_assignment(consumer)
        next_refresh = time.monotonic() + REFRESH_INTERVAL_S
        next_lag = 0.0
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                self._apply(tp.topic, records)
            if not self.caught_up.is_set():
                await self._check_caught_up(consumer)
            now = time.monotonic()
            if now >= next_lag:
                next_lag = now + LAG_INTERVAL_S
                await self._report_lag(consumer)
            if now >= next_refresh:
                next_refresh = now + REFRESH_INTERVAL_S
                await self._refresh_assignment(consumer)

    def _apply(self, topic: str, records: Iterable[ConsumerRecord[Any, Any]]) -> None:
        counted = self.metrics.consumer_messages
        ok = bad = 0
        for record in records:
            value: bytes | None = record.value
            if value is None:
                key = record.key.decode() if record.key is not None else None
                if key is not None:
                    self.live.delete(key)
                ok += 1
                continue
            try:
                message, text = decode(value)
            except (ValidationError, UnicodeDecodeError) as exc:
                bad += 1
                log.warning(
                    "skipping undecodable message %s/%s@%s: %s",
                    topic,
                    record.partition,
                    record.offset,
                    str(exc)[:200],
                )
                continue
            self.live.apply(message, json=text)
            ok += 1
        if ok:
            counted.labels(topic, "applied").inc(ok)
        if bad:
            counted.labels(topic, "invalid").inc(bad)

    async def _refresh_assignment(self, consumer: AIOKafkaConsumer) -> None:
        """(Re)assign every partition of the output topics; new ones start at the beginning."""
        # consumer.topics() fetches the same but drops the partitions; aiokafka (pinned
        # <0.15) has no public call that returns them for topics not subscribed to.
        cluster = await consumer._client.fetch_all_metadata()
        wanted: set[TopicPartition] = set()
        for topic in self.topics:
            for partition in cluster.partitions_for_topic(topic) or ():
                wanted.add(TopicPartition(topic, partition))
        new = wanted - self._assigned
        if not new:
            if not self._assigned:
                self._mark_caught_up()  # nothing to read at all: the (empty) state is current
            return
        positions = {tp: await consumer.position(tp) for tp in self._assigned}
        consumer.assign(sorted(wanted, key=lambda tp: (tp.topic, tp.partition)))
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        await consumer.seek_to_beginning(*new)
        self._assigned = wanted
        if not self.caught_up.is_set():
            self._targets.update(await consumer.end_offsets(list(new)))
            await self._check_caught_up(consumer)

    async def _check_caught_up(self, consumer: AIOKafkaConsumer) -> None:
        for tp, target in list(self._targets.items()):
            if await consumer.position(tp) >= target:
                del self._targets[tp]
        if not self._targets:
            self._mark_caught_up()

    def _mark_caught_up(self) -> None:
        if not self.caught_up.is_set():
            self.caught_up.set()
            self.metrics.caught_up.set(1)
            log.info("live state caught up: %s", self.live.stats())

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = dict.fromkeys(self.topics, 0)
        for tp in self._assigned:
            highwater = consumer.highwater(tp)  # as of the last fetch: no request needed
            if highwater is not None:
                lag[tp.topic] += max(0, highwater - await consumer.position(tp))
        for topic, value in lag.items():
            self.metrics.consumer_lag.labels(topic).set(value)
        stats = self.live.stats()
        for kind, count in stats.items():
            self.metrics.live_keys.labels(kind).set(count)
