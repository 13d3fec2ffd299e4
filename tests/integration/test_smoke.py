"""The first integration test: the real broker, a faust agent with a table, the real database.

If this fails, nothing else that needs the stack can pass; it is the place to look first.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import faust
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from capmon.settings import Settings
from tests.fixtures.stack import create_topics
from tests.fixtures.waiting import wait_for_async

pytestmark = pytest.mark.integration

PARTITIONS = 3


async def drain(consumer: AIOKafkaConsumer, into: list[tuple[bytes, bytes]], want: int) -> bool:
    batches = await consumer.getmany(timeout_ms=200)
    into.extend((m.key, m.value) for msgs in batches.values() for m in msgs)
    return len(into) >= want


async def test_produce_and_consume_with_aiokafka(settings: Settings) -> None:
    [topic] = await create_topics(settings, ["smoke.raw"], PARTITIONS)
    sent = [(f"hospital-{i % 3}".encode(), f"event-{i}".encode()) for i in range(20)]

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for key, value in sent:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.topic("smoke.raw-reader"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[tuple[bytes, bytes]] = []
    try:
        await wait_for_async(
            lambda: drain(consumer, received, len(sent)),
            timeout=30,
            what="all produced messages to come back",
        )
    finally:
        await consumer.stop()

    assert sorted(received) == sorted(sent)
    # One key, one partition: per-key order survives the round trip.
    for key in {k for k, _ in sent}:
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]


@pytest.fixture
async def counting_app(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[faust.App, str]]:
    """A minimal faust app: one agent counting messages per key in a changelog table."""
    [source] = await create_topics(settings, ["smoke.words"], PARTITIONS)
    app = faust.App(
        settings.topic("smoke-app"),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        web_enabled=False,
        topic_partitions=PARTITIONS,
        datadir=str(tmp_path / "faust"),
    )
    yield app, source
    if app.started:
        await app.stop()


async def test_faust_agent_with_table(counting_app: tuple[faust.App, str]) -> None:
    app, source = counting_app
    topic = app.topic(source, key_type=str, value_type=str, partitions=PARTITIONS)
    counts = app.Table("counts", default=int, partitions=PARTITIONS)
    processed: list[str] = []

    @app.agent(topic)
    async def count(stream: faust.StreamT[str]) -> None:
        async for key, value in stream.items():
            counts[key] += 1
            processed.append(value)

    await app.start()
    keys = [f"ward-{i % 4}" for i in range(12)]
    for i, key in enumerate(keys):
        await topic.send(key=key, value=f"v{i}")

    await wait_for_async(
        lambda: len(processed) >= len(keys), timeout=60, what="the agent to see every message"
    )
    assert sorted(processed) == sorted(f"v{i}" for i in range(len(keys)))
    assert {key: counts[key] for key in set(keys)} == {key: 3 for key in set(keys)}

    # The table is changelog-backed: its latest values are in Kafka, not only in memory.
    changelog = counts.changelog_topic.get_topic_name()
    bootstrap = ",".join(f"{url.host}:{url.port}" for url in app.conf.broker)
    expected = {key: 3 for key in set(keys)}
    latest: dict[str, int] = {}
    consumer = AIOKafkaConsumer(
        changelog, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def changelog_caught_up() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for message in (m for msgs in batches.values() for m in msgs):
                latest[json.loads(message.key)] = json.loads(message.value)
            return latest == expected

        await wait_for_async(changelog_caught_up, timeout=30, what=f"changelog {changelog}")
    finally:
        await consumer.stop()


def test_postgres_write_and_read(settings: Settings) -> None:
    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()
    written_at = datetime.now(UTC)
    note = f"smoke {uuid.uuid4()}"
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE smoke (id integer PRIMARY KEY, written_at timestamptz NOT NULL,"
            " note text)"
        )
        conn.execute("INSERT INTO smoke VALUES (%s, %s, %s)", (1, written_at, note))
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id, written_at, note FROM smoke").fetchone()
        database = conn.execute("SELECT current_database()").fetchone()
    assert row == (1, written_at, note)
    assert database is not None
    assert database[0].startswith("capmon_t_")
