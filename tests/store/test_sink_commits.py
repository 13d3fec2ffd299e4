"""Offsets are committed in batch order, whatever order the writers finish in (unit)."""

from __future__ import annotations

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from capmon.settings import Settings
from store.sink import HistorySink, _Batch
from store.sink_metrics import SinkMetrics

TP0 = TopicPartition("t.capmon.ward-state", 0)
TP1 = TopicPartition("t.capmon.ward-state", 1)


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def _sink() -> HistorySink:
    return HistorySink(
        Settings(topic_prefix="t."),
        database_url="postgresql://unused",
        metrics=SinkMetrics(CollectorRegistry()),
    )


def _batch(sink: HistorySink, offsets: dict[TopicPartition, int]) -> _Batch:
    batch = _Batch(generation=sink._generation, deadline=0.0, offsets=offsets)
    batch.seq = sink._next_seq
    sink._next_seq += 1
    return batch


async def test_a_later_batch_waits_for_the_earlier_one() -> None:
    sink, consumer = _sink(), FakeConsumer()
    first = _batch(sink, {TP0: 10, TP1: 5})
    second = _batch(sink, {TP0: 20})
    third = _batch(sink, {TP1: 9})

    await sink._commit_in_order(consumer, second)  # type: ignore[arg-type]
    assert consumer.commits == []  # the first batch is not in the database yet
    await sink._commit_in_order(consumer, first)  # type: ignore[arg-type]
    assert consumer.commits == [{TP0: 20, TP1: 5}]
    await sink._commit_in_order(consumer, third)  # type: ignore[arg-type]
    assert consumer.commits[-1] == {TP1: 9}


async def test_batches_of_a_revoked_assignment_are_never_committed() -> None:
    sink, consumer = _sink(), FakeConsumer()
    old = _batch(sink, {TP0: 10})
    sink.partitions_revoked({TP0})
    new = _batch(sink, {TP0: 4})  # re-read from the committed offset after the rebalance
    await sink._commit_in_order(consumer, old)  # type: ignore[arg-type]
    assert consumer.commits == []
    await sink._commit_in_order(consumer, new)  # type: ignore[arg-type]
    assert consumer.commits == [{TP0: 4}]
