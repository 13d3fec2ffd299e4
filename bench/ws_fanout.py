"""WebSocket fan-out: N connected clients, one national update per second.

    python -m bench.ws_fanout [--clients 2000] [--updates 30] [--rate 1]

``capmon api`` (a separate process) reads a national live state from this run's topics.
N WebSocket clients subscribe to ``nation`` and get their snapshot; then the bench
produces one new ``nation:all`` rollup per second to the rollups topic, as the worker
would, and every client records when the update with that version arrives. Delivery
latency runs from the produce call to the client's receipt (one clock: the bench
process). The server's memory (RSS) is sampled throughout.

The baseline, in the same run: a plain aiokafka consumer of the rollups topic, i.e. how
long Kafka itself takes to deliver the same messages.

Prints one JSON line: delivery p99 in ms (target < 500 ms; server RSS < 300 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from websockets.asyncio.client import ClientConnection, connect

from bench.api_common import (
    OutputProducer,
    api_process,
    cpu_seconds,
    create_output_topics,
    issue_token,
    national_state,
    reference,
    revoke_token,
    rollup_message,
)
from bench.common import bench_settings, delete_prefix_topics, percentile, result, say
from bench.common import work_directory as bench_work_directory
from capmon.settings import Settings

TARGET_P99_MS = 500.0
TARGET_RSS_MB = 300.0
NATION_KEY = b'"key":"nation:all"'


@dataclass
class Deliveries:
    sent_at: dict[int, float] = field(default_factory=dict)  # version -> monotonic time
    latencies_ms: list[float] = field(default_factory=list)
    received: int = 0
    expected: int = 0
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, at: float, version: int) -> None:
        sent = self.sent_at.get(version)
        if sent is None:
            return
        self.latencies_ms.append((at - sent) * 1000)
        self.received += 1
        if self.expected and self.received >= self.expected:
            self.complete.set()


async def client(
    url: str, token: str, deliveries: Deliveries, ready: asyncio.Event, stop: asyncio.Event
) -> ClientConnection | None:
    connection = await connect(f"{url}/ws?token={token}", open_timeout=60, max_queue=64)
    await connection.send(orjson.dumps({"op": "subscribe", "scopes": ["nation"]}).decode())

    async def read() -> None:
        async for message in connection:
            raw = message if isinstance(message, bytes) else message.encode()
            if b'"type":"snapshot"' in raw[:40]:
                ready.set()
                continue
            if NATION_KEY not in raw:
                continue
            at = time.monotonic()
            deliveries.record(at, orjson.loads(raw)["data"]["version"])

    reader = asyncio.create_task(read())
    await stop.wait()
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await reader
    await connection.close()
    return None


async def kafka_baseline(settings: Settings, deliveries: Deliveries, stop: asyncio.Event) -> None:
    """A plain consumer of the rollups topic: Kafka's own delivery latency."""
    topic = settings.topic(settings.topic_rollups)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            at = time.monotonic()
            for records in batches.values():
                for record in records:
                    if record.key == b"nation:all":
                        deliveries.record(at, orjson.loads(record.value)["version"])
    finally:
        await consumer.stop()


async def measure(clients: int, updates: int, rate: float, connect_batch: int) -> None:
    settings = bench_settings()
    ws = Deliveries(expected=clients * updates)
    kafka = Deliveries()
    rss_samples: list[int] = []
    update_cpu = 0.0
    connected = 0
    with bench_work_directory() as work_dir:
        try:
            await create_output_topics(settings, partitions=settings.topic_partitions)
            state = national_state(reference())
            async with OutputProducer(settings) as producer:
                await producer.send_all(state)
                token_id, token = await issue_token(settings, "national")
                try:
                    async with api_process(settings, work_dir) as (url, process):
                        ws_url = url.replace("http://", "ws://")
                        stop = asyncio.Event()
                        tasks: list[asyncio.Task[object]] = []
                        say(f"connecting {clients} clients")
                        for start in range(0, clients, connect_batch):
                            batch = []
                            for _ in range(start, min(clients, start + connect_batch)):
                                ready = asyncio.Event()
                                tasks.append(
                                    asyncio.create_task(client(ws_url, token, ws, ready, stop))
                                )
                                batch.append(ready)
                            await asyncio.wait_for(
                                asyncio.gather(*(r.wait() for r in batch)), timeout=120
                            )
                            connected += len(batch)
                        say(
                            f"{connected} clients have their snapshot; RSS "
                            f"{process.rss_bytes() / 2**20:.0f} MB"
                        )
                        baseline = asyncio.create_task(kafka_baseline(settings, kafka, stop))
                        nation = next(
                            m
                            for m in state
                            if m.kind == "rollup"
                            and m.scope_id == "nation"
                            and m.care_type == "all"
                        )
                        counts = nation.counts
                        cpu_before = cpu_seconds(process)
                        for i in range(updates):
                            version = 1000 + i
                            message = rollup_message(
                                "nation",
                                "all",
                                counts.available_beds,
                                counts.occupied + (i % 7) - 3,
                                version,
                                datetime.now(UTC),
                            )
                            ws.sent_at[version] = kafka.sent_at[version] = time.monotonic()
                            await producer.send_now(message)
                            rss_samples.append(process.rss_bytes())
                            await asyncio.sleep(1.0 / rate)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(ws.complete.wait(), timeout=10)
                        rss_samples.append(process.rss_bytes())
                        update_cpu = cpu_seconds(process) - cpu_before
                        stop.set()
                        await asyncio.gather(baseline, *tasks, return_exceptions=True)
                finally:
                    await revoke_token(settings, token_id)
        finally:
            await delete_prefix_topics(settings)
    p99 = percentile(ws.latencies_ms, 99)
    peak_rss_mb = max(rss_samples, default=0) / 2**20
    expected = clients * updates
    result(
        "api_ws_fanout_delivery_p99",
        p99,
        "ms",
        "kafka_consumer_p99_ms",
        percentile(kafka.latencies_ms, 99),
        {
            "target_ms": TARGET_P99_MS,
            "target_rss_mb": TARGET_RSS_MB,
            # a client that falls behind skips superseded versions by design: deliveries
            # below expected_deliveries are those, not losses
            "target_met": p99 is not None and p99 < TARGET_P99_MS and peak_rss_mb < TARGET_RSS_MB,
            "p50_ms": percentile(ws.latencies_ms, 50),
            "max_ms": max(ws.latencies_ms, default=None),
            "kafka_p50_ms": percentile(kafka.latencies_ms, 50),
            "clients": clients,
            "connected": connected,
            "updates": updates,
            "rate_per_s": rate,
            "deliveries": ws.received,
            "expected_deliveries": expected,
            "server_peak_rss_mb": round(peak_rss_mb, 1),
            # the server's own work per update (2,000 sends): what latency would be on an
            # idle core, give or take the network stack
            "server_cpu_ms_per_update": round(update_cpu * 1000 / max(1, updates), 1),
        },
        settings=settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_fanout", description=__doc__)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0, help="national updates per second")
    parser.add_argument("--connect-batch", type=int, default=100)
    args = parser.parse_args(argv)
    asyncio.run(measure(args.clients, args.updates, args.rate, args.connect_batch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
