"""Free-capacity search at a fixed request rate against ``capmon api`` (a separate process).

    python -m bench.api_search [--rate 500] [--seconds 20] [--connections 32]

The API reads a national live state (every ward of the reference data) from this run's
topics. An open-loop client sends referral-style searches (care type, often a region,
sometimes a specialty or a minimum of free beds; limit 20) on a fixed schedule over
keep-alive connections; latency counts from the *scheduled* send time, so a stall shows
as latency instead of silently lowering the rate. The baseline is ``GET /healthz`` at the
same rate in the same run: the HTTP floor of this machine and client.

Prints one JSON line: the search p99 in ms (target < 20 ms), baseline the /healthz p99.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.api_common import (
    OutputProducer,
    api_process,
    cpu_seconds,
    create_output_topics,
    issue_token,
    national_state,
    reference,
    revoke_token,
)
from bench.common import bench_settings, delete_prefix_topics, percentile, result, say
from bench.common import work_directory as bench_work_directory
from schemas.types import CareType

TARGET_P99_MS = 20.0


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost far less CPU
    than the server it measures (a general client would be the bottleneck)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def get(self, request: bytes) -> tuple[int, int]:
        self.writer.write(request)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value.strip())
        body = await self.reader.readexactly(length)
        return status, len(body)

    def close(self) -> None:
        self.writer.close()


def request_bytes(path: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: capmon\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


def search_paths(count: int, seed: int = 7) -> list[str]:
    ref = reference()
    rng = random.Random(seed)
    regions = sorted(ref.regions)
    specialties = sorted({w.specialty for w in ref.wards.values()})
    care_types = [c.value for c in CareType]
    paths = []
    for _ in range(count):
        params = [f"care_type={rng.choice(care_types)}", "limit=20"]
        if rng.random() < 0.7:
            params.append(f"region={rng.choice(regions)}")
        if rng.random() < 0.2:
            params.append(f"specialty={rng.choice(specialties)}")
        if rng.random() < 0.3:
            params.append(f"min_free={rng.randint(1, 3)}")
        if rng.random() < 0.2:
            params.append("max_staleness_s=3600")
        paths.append("/api/v1/capacity/free?" + "&".join(params))
    return paths


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    rows_bytes: int = 0
    seconds: float = 0.0


async def open_loop(
    host: str, port: int, requests: Sequence[bytes], rate: float, connections: int
) -> LoadResult:
    """Send ``requests`` at ``rate`` per second over a pool of keep-alive connections."""
    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    opened = [await HttpConnection.open(host, port) for _ in range(connections)]
    for connection in opened:
        pool.put_nowait(connection)
    outcome = LoadResult()
    start = time.perf_counter() + 0.1

    async def one(scheduled: float, request: bytes) -> None:
        connection = await pool.get()
        try:
            status, size = await connection.get(request)
            outcome.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            outcome.rows_bytes += size
            if status != 200:
                outcome.errors += 1
        finally:
            pool.put_nowait(connection)

    tasks = []
    for i, request in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled, request)))
    await asyncio.gather(*tasks)
    outcome.seconds = time.perf_counter() - start
    for connection in opened:
        connection.close()
    return outcome


async def measure(rate: float, seconds: float, connections: int) -> None:
    settings = bench_settings()
    with bench_work_directory() as work_dir:
        try:
            await create_output_topics(settings)
            state = national_state(reference())
            async with OutputProducer(settings) as producer:
                await producer.send_all(state)
            say(f"produced {len(state)} output messages")
            token_id, token = await issue_token(settings, "referral")
            try:
                async with api_process(settings, work_dir) as (url, process):
                    host, port = url.removeprefix("http://").split(":")
                    count = int(rate * seconds)
                    searches = [request_bytes(p, token) for p in search_paths(count)]
                    health = [request_bytes("/healthz", token)] * count
                    await open_loop(host, int(port), searches[: int(rate)], rate, connections)
                    say(f"searching at {rate:.0f}/s for {seconds:.0f}s")
                    cpu_before = cpu_seconds(process)
                    search = await open_loop(host, int(port), searches, rate, connections)
                    search_cpu = cpu_seconds(process) - cpu_before
                    rss = process.rss_bytes()
                    say(f"/healthz at {rate:.0f}/s for {seconds:.0f}s (baseline)")
                    baseline = await open_loop(host, int(port), health, rate, connections)
            finally:
                await revoke_token(settings, token_id)
        finally:
            await delete_prefix_topics(settings)
    p99 = percentile(search.latencies_ms, 99)
    result(
        "api_free_capacity_search_p99",
        p99,
        "ms",
        "healthz_p99_ms",
        percentile(baseline.latencies_ms, 99),
        {
            "target_ms": TARGET_P99_MS,
            "target_met": p99 is not None and p99 < TARGET_P99_MS and search.errors == 0,
            "p50_ms": percentile(search.latencies_ms, 50),
            "p999_ms": percentile(search.latencies_ms, 99.9),
            "max_ms": max(search.latencies_ms, default=None),
            "healthz_p50_ms": percentile(baseline.latencies_ms, 50),
            "requests": len(search.latencies_ms),
            "errors": search.errors,
            "rate_per_s": round(len(search.latencies_ms) / search.seconds, 1),
            "target_rate_per_s": rate,
            "connections": connections,
            "wards": sum(1 for m in state if m.kind == "ward_state"),
            "mean_response_bytes": round(search.rows_bytes / max(1, len(search.latencies_ms))),
            "server_rss_mb": round(rss / 2**20, 1),
            "server_cpu_ms_per_request": round(search_cpu * 1000 / max(1, count), 3),
            "server_cpu_share": round(search_cpu / max(search.seconds, 1e-9), 3),
        },
        settings=settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_search", description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    asyncio.run(measure(args.rate, args.seconds, args.connections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
