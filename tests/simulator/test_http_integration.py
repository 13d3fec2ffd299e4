"""Publishing through the real HTTP ingest: it takes exactly the events the labels say."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from capmon.settings import Settings
from schemas.events import event_adapter
from schemas.reference import load_reference
from simulator.emission import Emission
from simulator.model import Simulation
from simulator.pacing import Pacer
from simulator.publish import HttpSink, run
from simulator.scenarios import ScenarioOptions
from streams.topics import ensure_topics
from tests.fixtures.processes import CapmonProcess, issue_token, start_api
from tests.fixtures.waiting import wait_for_async

pytestmark = pytest.mark.integration

HOUR = 3600
PASSES_INGEST = (None, "duplicate", "too_late")  # the stream decides those two


async def _events_in_topic(settings: Settings, expected: int) -> dict[str, list[Any]]:
    consumer = AIOKafkaConsumer(
        settings.topic(settings.topic_events),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    events: dict[str, list[Any]] = defaultdict(list)
    await consumer.start()
    try:

        async def all_there() -> bool:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for messages in batches.values():
                for m in messages:
                    value = orjson.loads(m.value)
                    items = value.get("events", [value])
                    events[m.key.decode()].extend(items)
            return sum(len(v) for v in events.values()) >= expected

        await wait_for_async(all_there, timeout=60, what=f"{expected} events in the topic")
    finally:
        await consumer.stop()
    return events


async def test_http_ingest_takes_what_the_labels_say(
    settings: Settings, processes: list[CapmonProcess]
) -> None:
    await ensure_topics(settings)
    _, base = start_api(settings, processes)
    token = issue_token(settings, "admin")
    reference = load_reference()
    start = int(time.time()) - 3 * HOUR
    sim = Simulation(
        reference,
        seed=5,
        scenario="bad-input",
        start=start,
        options=ScenarioOptions(regions=("09", "23"), bad_input_share=0.05),
        burn_in_days=1,
    )
    emissions: list[Emission] = []
    original = sim.advance

    def recording(until: int | Any) -> list[Emission]:
        out = original(until)
        emissions.extend(out)
        return out

    sim.advance = recording  # type: ignore[method-assign]
    sink = HttpSink(f"{base}/api/v1/events", token=token)
    await sink.start()
    try:
        stats = await run(sim, sink, pacer=Pacer(start=start, speed=0), end=start + 2 * HOUR)
    finally:
        await sink.stop()
    passing = [e for e in emissions if e.rejected in PASSES_INGEST]
    assert stats.events == len(emissions) > 300
    assert sink.accepted == len(passing)
    assert sink.rejected == len(emissions) - len(passing) > 10
    assert set(sink.status_counts) <= {202, 400}
    want: dict[str, list[Any]] = defaultdict(list)
    for e in passing:
        want[e.hospital_id].append(event_adapter.validate_python(e.payload))
    got = await _events_in_topic(settings, len(passing))
    # The ingest re-serializes what it validated: compare events, not bytes, in order.
    assert {h: [event_adapter.validate_python(x) for x in v] for h, v in got.items()} == want
