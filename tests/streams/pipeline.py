"""Test helpers: a deterministic event stream, and the whole pipeline run in memory.

The in-memory run feeds the same processors the worker uses, without Kafka and without
interruption: it is the "uninterrupted run" the restart and scale-out tests compare with.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from capmon.settings import Settings
from schemas.reference import ReferenceData
from schemas.targets import TargetConfig
from streams.app import output_topics
from streams.output_buffer import KeyPartitioner, OutputBuffer
from streams.processing import InboundMessage, ScopeProcessor, WardProcessor


class MemoryStore(dict[bytes, bytes]):
    def put(self, partition: int, key: bytes, value: bytes, out: OutputBuffer) -> None:
        self[key] = value


def event_stream(
    reference: ReferenceData,
    hospital_ids: list[str],
    *,
    start: datetime,
    minutes: int,
    seed: int,
    batch_size: int = 20,
) -> list[tuple[bytes, bytes]]:
    """Kafka messages (key, value): census first, then random admits and discharges."""
    rng = random.Random(seed)
    messages: list[tuple[bytes, bytes]] = []
    for hospital_id in hospital_ids:
        wards = reference.wards_of_hospital(hospital_id)
        events: list[dict[str, Any]] = []
        for ward in wards:
            occupied = max(0, ward.typical_available_beds - rng.randint(0, 3))
            events.append(
                {
                    "type": "census",
                    "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "source": "test",
                    "ward_id": ward.ward_id,
                    "occurred_at": start.isoformat(),
                    "available_beds": ward.typical_available_beds,
                    "occupied": occupied,
                }
            )
            for minute in sorted(rng.sample(range(1, minutes), k=min(minutes - 1, 12))):
                events.append(
                    {
                        "type": "movement",
                        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "source": "test",
                        "ward_id": ward.ward_id,
                        "occurred_at": (start + timedelta(minutes=minute)).isoformat(),
                        "action": rng.choice(["admit", "discharge"]),
                        "encounter_ref": f"e{rng.getrandbits(32):x}",
                    }
                )
        events.sort(key=lambda e: e["occurred_at"])
        for i in range(0, len(events), batch_size):
            body = {
                "source": "test",
                "hospital_id": hospital_id,
                "events": events[i : i + batch_size],
            }
            messages.append((hospital_id.encode(), orjson.dumps(body)))
    return messages


@dataclass
class PipelineResult:
    ward_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    rollups: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_in_memory(
    settings: Settings,
    reference: ReferenceData,
    targets: TargetConfig,
    messages: list[tuple[bytes, bytes]],
    *,
    now: datetime,
) -> PipelineResult:
    topics = output_topics(settings)
    wards = WardProcessor(settings=settings, reference=reference, targets=targets, topics=topics)
    scopes = ScopeProcessor(settings=settings, reference=reference, targets=targets, topics=topics)
    partitioner = KeyPartitioner(settings.topic_partitions)
    ward_store, hospital_store, scope_store = MemoryStore(), MemoryStore(), MemoryStore()
    result = PipelineResult()
    events_topic = settings.topic(settings.topic_events)
    for offset, (key, value) in enumerate(messages):
        out = OutputBuffer()
        partition = partitioner(key)
        wards.process_partition(
            partition,
            [InboundMessage(events_topic, partition, offset, key, value)],
            now=now,
            ward_store=ward_store,
            hospital_store=hospital_store,
            out=out,
        )
        contributions: list[InboundMessage] = []
        for (topic, part), records in out.items():
            for record_key, record_value in records:
                if topic == topics.ward_state:
                    result.ward_states[record_key.decode()] = orjson.loads(record_value)
                elif topic == topics.rollups:
                    result.rollups[record_key.decode()] = orjson.loads(record_value)
                elif topic == topics.contributions:
                    contributions.append(
                        InboundMessage(topic, part, offset, record_key, record_value)
                    )
        scope_out = OutputBuffer()
        for message in contributions:
            scopes.process_partition(
                message.partition, [message], now=now, scope_store=scope_store, out=scope_out
            )
        for (topic, _part), records in scope_out.items():
            if topic == topics.rollups:
                for record_key, record_value in records:
                    result.rollups[record_key.decode()] = orjson.loads(record_value)
    return result


def comparable(message: dict[str, Any]) -> dict[str, Any]:
    """What two runs must agree on: counts and measures (not versions or staleness)."""
    return {"counts": message["counts"], "measures": message["measures"]}
