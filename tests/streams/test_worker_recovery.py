"""Restart and scale-out on the real broker (issue 4, point 5).

The reference is the same stream run through the processors in memory, uninterrupted
(``tests.streams.pipeline``): after a SIGKILL mid-stream and a restart, and with two
workers splitting the partitions, every ward state and rollup must end up equal to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from capmon.settings import Settings
from schemas.reference import load_reference
from schemas.targets import load_targets
from streams.topics import ensure_topics
from tests.fixtures.processes import CapmonProcess, start_worker
from tests.fixtures.topics import TopicReader
from tests.streams.pipeline import PipelineResult, comparable, event_stream, run_in_memory

pytestmark = pytest.mark.integration

TIMEOUT = 120.0


async def _produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(settings.topic(settings.topic_events), value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def _scenario(settings: Settings) -> tuple[list[tuple[bytes, bytes]], PipelineResult]:
    reference = load_reference()
    hospitals = list(reference.hospitals.values())
    chosen = [h.hospital_id for h in hospitals[:6]]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=100)
    messages = event_stream(reference, chosen, start=start, minutes=90, seed=7)
    expected = run_in_memory(settings, reference, load_targets(), messages, now=datetime.now(UTC))
    return messages, expected


async def _wait_for_expected(settings: Settings, expected: PipelineResult, logs: str) -> None:
    bootstrap = settings.kafka_bootstrap_servers
    want_states = {k: comparable(v) for k, v in expected.ward_states.items()}
    want_rollups = {k: comparable(v) for k, v in expected.rollups.items()}
    async with (
        TopicReader(bootstrap, settings.topic(settings.topic_ward_state)) as states,
        TopicReader(bootstrap, settings.topic(settings.topic_rollups)) as rollups,
    ):

        def states_match(reader: TopicReader) -> bool:
            return all(
                (got := reader.latest.get(k.encode())) is not None and comparable(got) == v
                for k, v in want_states.items()
            )

        def rollups_match(reader: TopicReader) -> bool:
            return all(
                (got := reader.latest.get(k.encode())) is not None and comparable(got) == v
                for k, v in want_rollups.items()
            )

        try:
            await states.wait_until(states_match, within=TIMEOUT, what="ward states")
            await rollups.wait_until(rollups_match, within=TIMEOUT, what="rollups")
        except AssertionError:
            print(logs)
            raise
        assert len(want_states) > 50  # the scenario really covers many wards


async def test_sigkill_mid_stream_then_restart_equals_uninterrupted_run(
    settings: Settings, processes: list[CapmonProcess]
) -> None:
    messages, expected = _scenario(settings)
    await ensure_topics(settings)
    first = start_worker(settings, processes, name="worker-1", table_store="rocksdb")
    half = len(messages) // 2
    await _produce(settings, messages[:half])
    bootstrap = settings.kafka_bootstrap_servers
    async with TopicReader(bootstrap, settings.topic(settings.topic_ward_state)) as states:
        await states.wait_until(
            lambda r: len(r.latest) >= 10, within=TIMEOUT, what="the worker to be mid-stream"
        )
    first.kill()
    await _produce(settings, messages[half:])
    second = start_worker(settings, processes, name="worker-2", table_store="rocksdb")
    await _wait_for_expected(settings, expected, first.log_tail() + "\n" + second.log_tail())


async def test_two_workers_split_partitions_and_match_one(
    settings: Settings, processes: list[CapmonProcess]
) -> None:
    messages, expected = _scenario(settings)
    await ensure_topics(settings)
    a = start_worker(settings, processes, name="worker-a", table_store="memory")
    b = start_worker(settings, processes, name="worker-b", table_store="memory")
    await _produce(settings, messages)
    await _wait_for_expected(settings, expected, a.log_tail() + "\n" + b.log_tail())
