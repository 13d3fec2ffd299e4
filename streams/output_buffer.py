"""Batched writes to Kafka: one record batch per topic partition per processing round.

faust's own send path costs ~100 µs per message (FutureMessage bookkeeping, a pure-Python
murmur2 per key); a batch of events touching a thousand wards would spend most of its time
there. Records are instead appended to aiokafka ``BatchBuilder``s and handed over with
``send_batch``, through the aiokafka producer that faust itself owns: faust flushes that
producer before it commits consumer offsets, so outputs stay at-least-once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from aiokafka.partitioner import murmur2


class BatchProducer(Protocol):
    """The part of ``aiokafka.AIOKafkaProducer`` used here."""

    def create_batch(self) -> Any: ...

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> Any: ...


class KeyPartitioner:
    """Java-compatible murmur2 partitioning, cached per key (ward and scope keys repeat)."""

    __slots__ = ("_cache", "_partitions")

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions
        self._cache: dict[bytes, int] = {}

    def __call__(self, key: bytes) -> int:
        partition = self._cache.get(key)
        if partition is None:
            partition = (murmur2(key) & 0x7FFFFFFF) % self._partitions
            if len(self._cache) < 1_000_000:  # bounded: keys are ward/scope ids
                self._cache[key] = partition
        return partition


# Shared by every buffer (one is made per round): the keys repeat round after round.
_PARTITIONERS: dict[int, KeyPartitioner] = {}


class OutputBuffer:
    """Collects records for one round and sends them as one batch per (topic, partition)."""

    __slots__ = ("_records",)

    def __init__(self) -> None:
        self._records: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}

    def add(self, topic: str, partition: int, key: bytes, value: bytes) -> None:
        bucket = self._records.get((topic, partition))
        if bucket is None:
            bucket = self._records[(topic, partition)] = []
        bucket.append((key, value))

    def add_keyed(self, topic: str, partitions: int, key: bytes, value: bytes) -> None:
        """Add with the partition chosen like the default producer partitioner would."""
        partitioner = _PARTITIONERS.get(partitions)
        if partitioner is None:
            partitioner = _PARTITIONERS[partitions] = KeyPartitioner(partitions)
        self.add(topic, partitioner(key), key, value)

    def __len__(self) -> int:
        return sum(len(records) for records in self._records.values())

    def items(self) -> Iterable[tuple[tuple[str, int], list[tuple[bytes, bytes]]]]:
        return self._records.items()

    async def flush(self, producer: BatchProducer) -> list[Any]:
        """Hand every record to the producer; returns the delivery futures."""
        futures: list[Any] = []
        for (topic, partition), records in self._records.items():
            batch = producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    # batch full (max_batch_size): ship it and start another
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        raise ValueError(f"record for {topic} larger than max_batch_size")
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        self._records.clear()
        return futures
