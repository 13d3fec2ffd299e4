"""The API's Kafka producer: ingested events to ``capmon.events``, acknowledgements to
``capmon.alerts``. ``acks=all`` with idempotence: an answered request is durably in Kafka."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaProducer

from capmon.settings import Settings


class KafkaPublisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events_topic = settings.topic(settings.topic_events)
        self.alerts_topic = settings.topic(settings.topic_alerts)
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        """Started on first use (and again after a failed start), so the app can boot
        while Kafka is down and ingest recovers by itself when it is back."""
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap_servers,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=2,
                    request_timeout_ms=10_000,
                    client_id="capmon-api",
                )
                try:
                    await producer.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def publish_event_batch(self, hospital_id: str, value: bytes) -> None:
        producer = await self._get()
        await producer.send_and_wait(self.events_topic, value=value, key=hospital_id.encode())

    async def publish_alert(self, alert_id: str, value: bytes) -> None:
        producer = await self._get()
        await producer.send_and_wait(self.alerts_topic, value=value, key=alert_id.encode())

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
