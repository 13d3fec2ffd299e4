"""With the real worker: events produced to Kafka reach a region's WebSocket subscriber as
ward-state and rollup updates, and nothing of other regions does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from capmon.settings import Settings
from streams.topics import ensure_topics
from tests.api import factories as f
from tests.api.stack_support import issue_tokens, running_api
from tests.api.wsclient import Collector, ws_client
from tests.fixtures.processes import CapmonProcess, start_worker

pytestmark = pytest.mark.integration

WARD_01 = f.wards_of(f.KAROLINSKA, 1)[0]
WARD_03 = f.wards_of(f.AKADEMISKA, 1)[0]


def _census(ward_id: str, occupied: int, at: datetime) -> dict[str, Any]:
    ward = f.reference().wards[ward_id]
    return {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": "test",
        "ward_id": ward_id,
        "occurred_at": at.isoformat(),
        "available_beds": ward.typical_available_beds,
        "occupied": occupied,
    }


async def _publish(settings: Settings, ward_id: str, occupied: int, at: datetime) -> None:
    hospital_id = f.reference().wards[ward_id].hospital_id
    batch = {
        "source": "test",
        "hospital_id": hospital_id,
        "events": [_census(ward_id, occupied, at)],
    }
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic(settings.topic_events), orjson.dumps(batch), key=hospital_id.encode()
        )
    finally:
        await producer.stop()


async def test_region_subscriber_sees_the_workers_output_for_its_region_only(
    settings: Settings, processes: list[CapmonProcess]
) -> None:
    await ensure_topics(settings)
    worker = start_worker(settings, processes)
    tokens = await issue_tokens(settings, ["region:01"])
    now = datetime.now(UTC) - timedelta(minutes=1)
    async with running_api(settings) as api, ws_client(api.url, tokens["region:01"]) as ws:
        await ws.subscribe("region:01")
        await ws.wait(lambda c: c.of_type("snapshot"), what="the snapshot")
        await _publish(settings, WARD_03, 3, now)
        await _publish(settings, WARD_01, 4, now)

        def got_ward_and_region(collector: Collector) -> bool:
            keys = {u["key"] for u in collector.updates()}
            return WARD_01 in keys and "region:01:all" in keys

        try:
            await ws.wait(got_ward_and_region, within=120, what="the worker's updates")
        except AssertionError:
            print(worker.log_tail(40))
            raise
        ward = next(u["data"] for u in ws.updates() if u["key"] == WARD_01)
        assert ward["kind"] == "ward_state"
        assert ward["counts"]["occupied"] == 4
        # The region 03 ward was published first: had it leaked, it would be here by now.
        keys = {u["key"] for u in ws.updates()}
        assert WARD_03 not in keys
        assert not any(k.startswith(("region:03", f"hospital:{f.AKADEMISKA}")) for k in keys)
        assert {u["data"].get("region_code", "01") for u in ws.updates()} == {"01"}
