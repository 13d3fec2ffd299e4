"""Publishing to the real Kafka: what is read back is exactly what the simulator published."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from capmon.settings import Settings, get_settings
from schemas.reference import ReferenceData
from simulator import cli
from simulator.emission import Emission
from simulator.model import Simulation
from simulator.pacing import Pacer
from simulator.publish import KafkaSink, run
from tests.fixtures.stack import create_topics
from tests.fixtures.waiting import wait_for_async
from tests.simulator.conftest import MONDAY_S

pytestmark = pytest.mark.integration

HOUR = 3600


async def _read_all(settings: Settings, expected_messages: int) -> list[tuple[bytes, bytes]]:
    """Every record of the events topic, in partition order, once ``expected_messages``
    have arrived (no consumer group: all partitions, from the beginning)."""
    consumer = AIOKafkaConsumer(
        settings.topic(settings.topic_events),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    records: list[tuple[bytes, bytes]] = []
    await consumer.start()
    try:

        async def all_read() -> bool:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for messages in batches.values():
                records.extend((m.key, m.value) for m in messages)
            return len(records) >= expected_messages

        await wait_for_async(all_read, timeout=60, what=f"{expected_messages} messages")
        extra = await consumer.getmany(timeout_ms=500)
        records.extend((m.key, m.value) for ms in extra.values() for m in ms)
    finally:
        await consumer.stop()
    return records


def _events_per_hospital(
    records: list[tuple[bytes, bytes]],
) -> tuple[dict[str, list[Any]], list[bytes]]:
    events: dict[str, list[Any]] = defaultdict(list)
    raw: list[bytes] = []
    for key, value in records:
        try:
            message = orjson.loads(value)
        except orjson.JSONDecodeError:
            raw.append(value)
            continue
        if isinstance(message, dict) and "events" in message:
            assert message["hospital_id"] == key.decode()
            events[key.decode()].extend(message["events"])
        else:
            events[key.decode()].append(message)
    return events, raw


def _expected(emissions: list[Emission]) -> tuple[dict[str, list[Any]], list[bytes]]:
    events: dict[str, list[Any]] = defaultdict(list)
    raw: list[bytes] = []
    for e in emissions:
        if isinstance(e.payload, bytes):
            raw.append(e.payload)
        else:
            # Through JSON and back, as the reader sees it.
            events[e.hospital_id].append(orjson.loads(orjson.dumps(e.payload)))
    return events, raw


@pytest.mark.parametrize("batch_size", [50, 1])
async def test_published_events_read_back_exactly(
    settings: Settings, tiny_reference: ReferenceData, batch_size: int
) -> None:
    await create_topics(settings, [settings.topic_events], settings.topic_partitions)
    sim = Simulation(tiny_reference, seed=3, scenario="bad-input", start=MONDAY_S)
    emissions: list[Emission] = []
    original_advance = sim.advance

    def recording_advance(until: int | Any) -> list[Emission]:
        out = original_advance(until)
        emissions.extend(out)
        return out

    sim.advance = recording_advance  # type: ignore[method-assign]
    sink = KafkaSink(settings)
    await sink.start()
    try:
        stats = await run(
            sim,
            sink,
            pacer=Pacer(start=sim.start, speed=0),
            end=sim.start + 12 * HOUR,
            batch_size=batch_size,
        )
    finally:
        await sink.stop()
    assert stats.events == len(emissions) > 1_000
    records = await _read_all(settings, stats.messages)
    assert len(records) == stats.messages
    got_events, got_raw = _events_per_hospital(records)
    want_events, want_raw = _expected(emissions)
    # Per hospital in publish order (one key, one partition); raw messages as a set.
    assert got_events == want_events
    assert sorted(got_raw) == sorted(want_raw)


@pytest.fixture
def simulate_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("CAPMON_KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers)
    monkeypatch.setenv("CAPMON_TOPIC_PREFIX", settings.topic_prefix)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


async def test_the_command_publishes_to_kafka(
    simulate_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = simulate_env
    await create_topics(settings, [settings.topic_events], settings.topic_partitions)
    # main() starts its own event loop; its coroutine runs in the test's.
    args = cli.build_parser().parse_args(
        ["--regions", "09", "--duration", "1h", "--speed", "0", "--burn-in", "1d", "--quiet"]
    )
    assert await cli._main(args, get_settings()) == 0
    summary = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["target"] == "kafka"
    assert summary["events"] > 50
    records = await _read_all(settings, summary["messages"])
    events, raw = _events_per_hospital(records)
    assert raw == []
    assert sum(len(v) for v in events.values()) == summary["events"]
