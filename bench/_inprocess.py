"""The worker's processing rounds without Kafka or faust: ``streams.processing`` over
in-memory stores, in rounds like the agents' (the CPU ceiling of one worker process).

Used by ``worker_throughput`` to split the worker's time between capmon's own processing
and faust/aiokafka, and to check that the generated events are all accepted.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from bench._events import Message
from capmon.settings import Settings
from schemas.reference import ReferenceData
from schemas.targets import load_targets
from streams.app import output_topics
from streams.output_buffer import KeyPartitioner, OutputBuffer
from streams.processing import InboundMessage, ScopeProcessor, WardProcessor


class DictStore:
    """A table's local store as a dict; changelog records go to the round's buffer."""

    def __init__(self, changelog: str) -> None:
        self.changelog = changelog
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, partition: int, key: bytes, value: bytes, out: OutputBuffer) -> None:
        self.data[key] = value
        out.add(self.changelog, partition, key, value)


@dataclass(frozen=True, slots=True)
class InProcessRun:
    events: int
    seconds: float
    ward_seconds: float
    scope_seconds: float
    outputs: dict[str, int]
    invalid_reasons: dict[str, int]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run_in_process(
    settings: Settings,
    reference: ReferenceData,
    messages: list[Message],
    *,
    round_messages: int = 2000,
) -> InProcessRun:
    """Process ``messages`` in rounds of ``round_messages`` (like ``take_events``)."""
    topics = output_topics(settings)
    targets = load_targets(settings.targets_file)
    wards = WardProcessor(settings=settings, reference=reference, targets=targets, topics=topics)
    scopes = ScopeProcessor(settings=settings, reference=reference, targets=targets, topics=topics)
    partitioner = KeyPartitioner(settings.topic_partitions)
    events_topic = settings.topic(settings.topic_events)
    ward_store, hospital_store = DictStore("wards"), DictStore("hospitals")
    scope_store = DictStore("scopes")
    outputs: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    ward_s = scope_s = 0.0
    offset = 0
    for start in range(0, len(messages), round_messages):
        now = datetime.now(UTC)
        groups: dict[int, list[InboundMessage]] = {}
        for message in messages[start : start + round_messages]:
            partition = partitioner(message.key)
            groups.setdefault(partition, []).append(
                InboundMessage(events_topic, partition, offset, message.key, message.value)
            )
            offset += 1
        out = OutputBuffer()
        t0 = time.perf_counter()
        for partition, group in groups.items():
            wards.process_partition(
                partition,
                group,
                now=now,
                ward_store=ward_store,
                hospital_store=hospital_store,
                out=out,
            )
        # the worker checkpoints once a second; once per round here errs on the slow side
        wards.checkpoint(ward_store, hospital_store, out)
        ward_s += time.perf_counter() - t0
        contributions: dict[int, list[InboundMessage]] = {}
        for (topic, partition), records in out.items():
            outputs[topic] += len(records)
            if topic == topics.contributions:
                contributions[partition] = [
                    InboundMessage(topic, partition, 0, key, value) for key, value in records
                ]
            elif topic == topics.invalid:
                for _, value in records:
                    invalid[str(orjson.loads(value)["reason"])] += 1
        scope_out = OutputBuffer()
        t0 = time.perf_counter()
        for partition, group in contributions.items():
            scopes.process_partition(
                partition, group, now=now, scope_store=scope_store, out=scope_out
            )
        scopes.checkpoint(scope_store, scope_out)
        scope_s += time.perf_counter() - t0
        for (topic, _), records in scope_out.items():
            outputs[topic] += len(records)
    return InProcessRun(
        events=sum(m.events for m in messages),
        seconds=ward_s + scope_s,
        ward_seconds=ward_s,
        scope_seconds=scope_s,
        outputs=dict(outputs),
        invalid_reasons=dict(invalid),
    )
