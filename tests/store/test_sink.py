"""``capmon sink`` against the real Kafka and PostgreSQL (integration).

The sink writes what was produced, exactly once in the database however often it is read:
a second consumer group replaying every offset writes nothing, and a restarted sink resumes
from its committed offsets.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from capmon.settings import Settings
from schemas.messages import AlertState, InvalidReason
from store.backoff import Backoff
from store.migrate import migrate
from store.sink import HistorySink, sink_topics
from store.sink_metrics import SinkMetrics
from tests.fixtures.stack import create_topics
from tests.fixtures.waiting import wait_for_async
from tests.store import factories
from tests.store.private_postgres import PrivatePostgres

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
TABLES = ("ward_state_history", "rollup_history", "alert_events", "invalid_events")


def _url(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url.get_secret_value()


async def counts(url: str) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        result = {}
        for table in TABLES:
            cur = await conn.execute(f"SELECT count(*) FROM {table}")
            row = await cur.fetchone()
            assert row is not None
            result[table] = int(row[0])
        return result


async def safe_counts(url: str) -> dict[str, int] | None:
    try:
        return await counts(url)
    except psycopg.OperationalError:
        return None


class Producer:
    """Produces outbound messages as the stream would, and remembers how many of each."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.producer = producer
        self.produced = dict.fromkeys(TABLES, 0)
        self.versions: dict[str, int] = {}

    async def ward_states(self, n: int, *, wards: int = 50) -> None:
        topic = self.settings.topic(self.settings.topic_ward_state)
        for i in range(n):
            ward_id = f"SE2321000016-W{i % wards:03d}"
            version = self.versions.get(ward_id, 0) + 1
            self.versions[ward_id] = version
            state = factories.ward_state(
                ward_id=ward_id,
                version=version,
                as_of=T0 + timedelta(seconds=60 * version),
                occupied=10 + version % 7,
            )
            await self.producer.send(topic, state.model_dump_json().encode(), key=ward_id.encode())
        self.produced["ward_state_history"] += n

    async def rollups(self, n: int) -> None:
        topic = self.settings.topic(self.settings.topic_rollups)
        for i in range(n):
            rollup = factories.rollup(version=i + 1, as_of=T0 + timedelta(seconds=30 * i))
            await self.producer.send(topic, rollup.model_dump_json().encode(), key=b"region:01:all")
        self.produced["rollup_history"] += n

    async def alerts(self, n_alerts: int) -> None:
        topic = self.settings.topic(self.settings.topic_alerts)
        for _ in range(n_alerts):
            alert_id = uuid.uuid4()
            for sequence, state in enumerate(
                (AlertState.RAISED, AlertState.ACKNOWLEDGED, AlertState.RESOLVED), start=1
            ):
                event = factories.alert(
                    alert_id=alert_id,
                    sequence=sequence,
                    state=state,
                    occurred_at=T0 + timedelta(minutes=sequence),
                    raised_at=T0,
                    acknowledged_by="samordnare" if state is AlertState.ACKNOWLEDGED else None,
                )
                await self.producer.send(
                    topic, event.model_dump_json().encode(), key=str(alert_id).encode()
                )
        self.produced["alert_events"] += 3 * n_alerts

    async def invalid(self, n: int) -> None:
        topic = self.settings.topic(self.settings.topic_invalid)
        for i in range(n):
            reason = InvalidReason.PERSONAL_DATA if i % 2 else InvalidReason.SCHEMA_VIOLATION
            record = factories.invalid(
                received_at=T0, reason=reason, raw=None if i % 2 else '{"bad": true}'
            )
            await self.producer.send(topic, record.model_dump_json().encode(), key=b"unknown")
        self.produced["invalid_events"] += n

    async def garbage(self) -> None:
        await self.producer.send(
            self.settings.topic(self.settings.topic_ward_state), b"{not json", key=b"x"
        )


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[Producer]:
    await create_topics(settings, sink_topics(settings), 3)
    kafka = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=5)
    await kafka.start()
    try:
        yield Producer(settings, kafka)
    finally:
        await kafka.stop()


class RunningSink:
    def __init__(self, sink: HistorySink) -> None:
        self.sink = sink
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(sink.run(self.stop))

    def metric(self, name: str, **labels: str) -> float:
        return self.sink.metrics.registry.get_sample_value(name, labels) or 0.0

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=60)


def start_sink(settings: Settings, url: str, *, group: str, **kwargs: object) -> RunningSink:
    sink = HistorySink(
        settings,
        database_url=url,
        group_id=f"{settings.topic_prefix}{group}",
        batch_rows=500,
        batch_delay_s=0.2,
        metrics=SinkMetrics(CollectorRegistry()),
        **kwargs,  # type: ignore[arg-type]
    )
    return RunningSink(sink)


async def test_sink_writes_everything_once_and_a_replay_writes_nothing(
    settings: Settings, producer: Producer
) -> None:
    url = _url(settings)
    migrate(url)
    await producer.ward_states(1500)
    await producer.rollups(200)
    await producer.alerts(20)
    await producer.invalid(10)
    await producer.garbage()
    await producer.producer.flush()

    first = start_sink(settings, url, group="sink-a")
    try:
        await wait_for_async(
            lambda: _equals(url, producer.produced),
            timeout=60,
            what="every produced row in the database",
        )
        assert (
            first.metric(
                "capmon_sink_malformed_messages_total",
                topic=settings.topic(settings.topic_ward_state),
            )
            == 1
        )
    finally:
        await first.close()

    # alerts: the latest lifecycle event per alert, acknowledged
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT count(*), bool_and(state = 'resolved' AND acknowledged) FROM alert_latest"
        )
        assert await cur.fetchone() == (20, True)
        cur = await conn.execute("SELECT count(*) FROM invalid_events WHERE raw IS NOT NULL")
        assert await cur.fetchone() == (5,)

    # a second consumer group replays every offset: nothing new is written
    replay = start_sink(settings, url, group="sink-b")
    try:
        total = sum(producer.produced.values())
        await wait_for_async(
            lambda: (
                sum(replay.metric("capmon_sink_rows_duplicate_total", table=t) for t in TABLES)
                >= total
            ),
            timeout=60,
            what="the replay to read every offset",
        )
        assert sum(replay.metric("capmon_sink_rows_inserted_total", table=t) for t in TABLES) == 0
        assert await counts(url) == producer.produced
    finally:
        await replay.close()

    # the first group resumes from its committed offsets: it reads only what is new
    await producer.ward_states(10)
    await producer.producer.flush()
    resumed = start_sink(settings, url, group="sink-a")
    try:
        await wait_for_async(
            lambda: _equals(url, producer.produced), timeout=60, what="the new rows"
        )
        topic = settings.topic(settings.topic_ward_state)
        assert resumed.metric("capmon_sink_messages_total", topic=topic) == 10
    finally:
        await resumed.close()


async def _equals(url: str, expected: dict[str, int]) -> bool:
    return await safe_counts(url) == expected


async def test_sink_waits_out_a_database_outage_and_loses_nothing(
    settings: Settings, producer: Producer, private_postgres: PrivatePostgres
) -> None:
    url = private_postgres.url
    migrate(url)
    running = start_sink(settings, url, group="sink-outage", backoff=Backoff(base_s=0.1, cap_s=0.5))
    try:
        await producer.ward_states(500)
        await producer.producer.flush()
        await wait_for_async(
            lambda: _equals(url, producer.produced), timeout=60, what="the first rows"
        )

        private_postgres.stop()
        # the stream goes on while the database is down
        await producer.ward_states(1000)
        await producer.alerts(10)
        await producer.producer.flush()
        await wait_for_async(
            lambda: running.metric("capmon_sink_db_errors_total", kind="transient") >= 3,
            timeout=60,
            what="the sink to retry the unreachable database",
        )
        assert running.metric("capmon_sink_db_up") == 0
        # more than the writers hold and the queue takes: fetching pauses, Kafka keeps the rest
        await producer.ward_states(3000)
        await producer.producer.flush()
        await wait_for_async(
            lambda: running.metric("capmon_sink_paused") == 1,
            timeout=30,
            what="the sink to pause fetching",
        )

        private_postgres.start()
        await wait_for_async(
            lambda: _equals(url, producer.produced), timeout=90, what="the backlog"
        )
        await wait_for_async(
            lambda: running.metric("capmon_sink_db_up") == 1,
            timeout=10,
            what="the sink to report up",
        )
        assert running.metric("capmon_sink_paused") == 0
    finally:
        await running.close()
    assert await counts(url) == producer.produced
