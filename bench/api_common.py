"""Shared by the API benchmarks (bench.api_search, bench.ws_fanout): a realistic live state
on this run's output topics, a token, and ``capmon api`` as a subprocess.

The state is what the worker would have written for the whole reference data set: one
ward state per ward (about 1,100), a rollup per hospital, region and the nation for every
care type and ``all``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from api.auth import TokenStore
from api.channels import Message, message_key
from api.db import apply_api_schema, create_pool
from api.roles import Role
from bench.common import CapmonProcess, capmon_env, say
from capmon.settings import Settings
from schemas.messages import (
    Counts,
    Measures,
    ScopeRollup,
    WardState,
    WindowOccupancy,
)
from schemas.reference import ReferenceData, load_reference
from schemas.types import ALL_CARE_TYPES, PressureLevel
from streams.topics import wait_topics_ready


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _window(seconds: int, occupied: int, available: int) -> WindowOccupancy:
    return WindowOccupancy(
        window_s=seconds,
        patient_seconds=float(occupied * seconds),
        bed_seconds=float(available * seconds),
        occupancy=occupied / available if available else None,
    )


def counts_and_measures(available: int, occupied: int) -> tuple[Counts, Measures]:
    counts = Counts(
        available_beds=available,
        occupied=occupied,
        free_beds=max(0, available - occupied),
        overcrowded=max(0, occupied - available),
        outlying_hosted=0,
        placed_elsewhere=0,
        pending_admissions=1,
        expected_discharges_24h=2,
    )
    measures = Measures(
        occupancy=occupied / available if available else None,
        free_after_pending=available - occupied + 1,
        overcrowded_per_100=None,
        outlying_per_100=None,
        occupancy_1h=_window(3600, occupied, available),
        occupancy_24h=_window(86400, occupied, available),
        occupancy_7d=_window(7 * 86400, occupied, available),
    )
    return counts, measures


def rollup_message(
    scope_id: str, care_type: str, available: int, occupied: int, version: int, as_of: datetime
) -> ScopeRollup:
    counts, measures = counts_and_measures(available, occupied)
    return ScopeRollup(
        scope_id=scope_id,
        care_type=care_type,
        version=version,
        as_of=as_of,
        oldest_as_of=as_of - timedelta(minutes=30),
        ward_count=10,
        wards_reporting=10,
        reporting_coverage=1.0,
        counts=counts,
        measures=measures,
        target=0.85,
        pressure_level=PressureLevel.STRAINED,
    )


def national_state(reference: ReferenceData, *, seed: int = 2026) -> list[Message]:
    """Ward states for every ward and the rollups above them, as of a few minutes ago."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    messages: list[Message] = []
    totals: dict[tuple[str, str], list[int]] = {}
    for ward in reference.wards.values():
        hospital = reference.hospitals[ward.hospital_id]
        available = max(1, ward.typical_available_beds)
        occupied = max(0, available + rng.randint(-6, 2))
        as_of = now - timedelta(seconds=rng.randint(0, 1800))
        counts, measures = counts_and_measures(available, occupied)
        messages.append(
            WardState(
                ward_id=ward.ward_id,
                hospital_id=ward.hospital_id,
                region_code=hospital.region_code,
                care_type=ward.care_type.value,
                specialty=ward.specialty,
                version=1,
                as_of=as_of,
                last_reported_at=as_of,
                expected_interval_s=ward.reporting_interval_s,
                stale=False,
                counts=counts,
                measures=measures,
                target=0.85,
                pressure_level=PressureLevel.NORMAL,
            )
        )
        for scope in (
            "nation",
            f"region:{hospital.region_code}",
            f"hospital:{hospital.hospital_id}",
        ):
            for care in (ALL_CARE_TYPES, ward.care_type.value):
                total = totals.setdefault((scope, care), [0, 0])
                total[0] += available
                total[1] += occupied
    for (scope, care), (available, occupied) in sorted(totals.items()):
        messages.append(rollup_message(scope, care, available, occupied, 1, now))
    return messages


async def create_output_topics(settings: Settings, partitions: int = 6) -> list[str]:
    names = [
        settings.topic(settings.topic_ward_state),
        settings.topic(settings.topic_rollups),
        settings.topic(settings.topic_alerts),
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(
                        name,
                        num_partitions=partitions,
                        replication_factor=settings.topic_replication_factor,
                        topic_configs={"cleanup.policy": "compact"},
                    )
                    for name in names
                ]
            )
    finally:
        await admin.close()
    await wait_topics_ready(settings.kafka_bootstrap_servers, names)
    return names


def topic_for(settings: Settings, message: Message) -> str:
    if isinstance(message, WardState):
        return settings.topic(settings.topic_ward_state)
    if isinstance(message, ScopeRollup):
        return settings.topic(settings.topic_rollups)
    return settings.topic(settings.topic_alerts)


class OutputProducer:
    """Produces output messages as the worker does (JSON, keyed by the topic key)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=0, acks=1
        )

    async def __aenter__(self) -> OutputProducer:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send_all(self, messages: Iterable[Message]) -> None:
        pending = [
            await self.producer.send(
                topic_for(self.settings, m),
                m.model_dump_json().encode(),
                key=message_key(m).encode(),
            )
            for m in messages
        ]
        await asyncio.gather(*pending)

    async def send_now(self, message: Message) -> None:
        await self.producer.send_and_wait(
            topic_for(self.settings, message),
            message.model_dump_json().encode(),
            key=message_key(message).encode(),
        )


async def issue_token(settings: Settings, role: str) -> tuple[int, str]:
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True, timeout=30)
    try:
        async with pool.connection() as conn:
            await apply_api_schema(conn)
        return await TokenStore(pool, settings.token_pepper).create(
            f"bench {role}", Role.parse(role)
        )
    finally:
        await pool.close()


async def revoke_token(settings: Settings, token_id: int) -> None:
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True, timeout=30)
    try:
        await TokenStore(pool, settings.token_pepper).revoke(token_id)
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def api_process(
    settings: Settings, work_dir: Path, *, ws_queue_limit: int | None = None
) -> AsyncIterator[tuple[str, CapmonProcess]]:
    """``capmon api`` on a free port, ready (initial read caught up) when yielded."""
    port = free_port()
    overrides: dict[str, object] = {"data_dir": work_dir}
    if ws_queue_limit is not None:
        overrides["ws_queue_limit"] = ws_queue_limit
    env = capmon_env(settings, **overrides)
    process = CapmonProcess(
        ["api", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env,
        work_dir / "api.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                if not process.running:
                    raise RuntimeError(f"capmon api exited:\n{process.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"capmon api not ready:\n{process.log_tail()}")
                await asyncio.sleep(0.2)
        say(f"capmon api ready on {url} (pid {process.pid})")
        yield url, process
    finally:
        process.stop()


def cpu_seconds(process: CapmonProcess) -> float:
    """User + system CPU time of the process so far: the server's own cost, which a busy
    shared machine does not inflate the way it inflates latencies."""
    times = psutil.Process(process.pid).cpu_times()
    return float(times.user + times.system)


def reference() -> ReferenceData:
    return load_reference()
