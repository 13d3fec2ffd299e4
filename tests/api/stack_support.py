"""Helpers of the API's integration tests: topics, producing output messages, tokens, and
an API app running under uvicorn against the real Kafka and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI

from api.auth import TokenStore
from api.channels import Message, message_key
from api.db import apply_api_schema, create_pool
from api.roles import Role
from api.server import create_app
from api.services import Services
from api.webhooks import WebhookOptions
from capmon.settings import Settings
from tests.api import factories as f
from tests.api.servers import serve
from tests.fixtures.stack import create_topics
from tests.fixtures.waiting import wait_for_async

COMPACTED = {"cleanup.policy": "compact"}
ROLES = ["national", "admin", "region:01", "referral", f"publisher:{f.KAROLINSKA}"]


async def make_topics(settings: Settings, partitions: int = 3) -> None:
    await create_topics(
        settings,
        [settings.topic_ward_state, settings.topic_rollups, settings.topic_alerts],
        partitions,
        config=COMPACTED,
    )
    await create_topics(settings, [settings.topic_events], partitions)


def topic_of(settings: Settings, message: Message) -> str:
    kind = message.kind
    name = {
        "ward_state": settings.topic_ward_state,
        "rollup": settings.topic_rollups,
        "alert": settings.topic_alerts,
    }[kind]
    return settings.topic(name)


async def produce(settings: Settings, messages: Iterable[Message]) -> None:
    """Produce output messages as the worker would: JSON values keyed by their topic key."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for message in messages:
            await producer.send_and_wait(
                topic_of(settings, message),
                value=message.model_dump_json().encode(),
                key=message_key(message).encode(),
            )
    finally:
        await producer.stop()


async def read_topic(
    settings: Settings, name: str, *, at_least: int, partitions: int = 3
) -> list[tuple[str, bytes]]:
    """Every (key, value) of a topic from the beginning, once ``at_least`` are there."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        topic = settings.topic(name)
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        got: list[tuple[str, bytes]] = []

        async def enough() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                got.extend((r.key.decode(), r.value) for r in records)
            return len(got) >= at_least

        await wait_for_async(enough, timeout=30, what=f"{at_least} messages on {topic}")
        return got
    finally:
        await consumer.stop()


async def issue_tokens(settings: Settings, roles: Iterable[str] = ROLES) -> dict[str, str]:
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True, timeout=30)
    try:
        async with pool.connection() as conn:
            await apply_api_schema(conn)
        store = TokenStore(pool, settings.token_pepper)
        return {role: (await store.create(f"test {role}", Role.parse(role)))[1] for role in roles}
    finally:
        await pool.close()


@dataclass
class RunningApi:
    url: str
    app: FastAPI

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)


@contextlib.asynccontextmanager
async def running_api(
    settings: Settings, *, webhook_options: WebhookOptions | None = None
) -> AsyncIterator[RunningApi]:
    app = create_app(
        settings,
        reference=f.reference(),
        targets=f.targets(),
        webhook_options=webhook_options,
    )
    async with serve(app) as url:
        running = RunningApi(url, app)
        async with running.client() as client:

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await wait_for_async(ready, timeout=60, what="the API to be ready")
        yield running
