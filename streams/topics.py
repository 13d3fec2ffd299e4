"""Kafka topics of capmon, created up front with the partition counts the tables expect.

faust refuses to run a table whose changelog has a different partition count from its
source topic (``PartitionsMismatch``), and a topic auto-created by a first publisher gets
the broker default: so every topic is created here, before any worker or publisher runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from capmon.settings import Settings, get_settings

CONTRIBUTIONS_TOPIC = "capmon.rollup-contributions"
# internal: timer ticks, one per partition, so staleness is evaluated inside stream
# iteration (where the changelog tables can be written) rather than in a bare timer.
TICKS_TOPIC = "capmon.ticks"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic capmon owns, with its cleanup policy (DESIGN.md, Topics)."""
    n = settings.topic_partitions
    # Compaction keeps every intermediate state for an hour, so a sink that was down for
    # less than that still writes every state change to the history.
    compact = {
        "cleanup.policy": "compact",
        "min.cleanable.dirty.ratio": "0.1",
        "min.compaction.lag.ms": str(3600 * 1000),
    }
    return [
        TopicSpec(
            settings.topic(settings.topic_events),
            n,
            {"cleanup.policy": "delete", "retention.ms": str(settings.events_retention_ms)},
        ),
        TopicSpec(settings.topic(settings.topic_invalid), n, {"cleanup.policy": "delete"}),
        TopicSpec(settings.topic(settings.topic_ward_state), n, compact),
        TopicSpec(settings.topic(settings.topic_rollups), n, compact),
        TopicSpec(settings.topic(settings.topic_alerts), n, compact),
        TopicSpec(settings.topic(settings.topic_reference), 1, compact),
        # internal re-keying of hospital contributions to region and nation scopes
        TopicSpec(
            settings.topic(CONTRIBUTIONS_TOPIC),
            n,
            {"cleanup.policy": "delete", "retention.ms": str(24 * 3600 * 1000)},
        ),
        TopicSpec(
            settings.topic(TICKS_TOPIC),
            n,
            {"cleanup.policy": "delete", "retention.ms": str(3600 * 1000)},
        ),
    ]


async def ensure_topics(settings: Settings, *, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left alone."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=int(timeout_s * 1000)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=spec.config,
            )
            for spec in missing
        ]
        # another process may win the race: same specs, nothing to do
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        return [spec.name for spec in missing]
    finally:
        await admin.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="capmon topics", description=__doc__)
    parser.parse_args(argv)
    settings = get_settings()
    created = asyncio.run(ensure_topics(settings))
    for name in created:
        print(f"created {name}")
    if not created:
        print("all topics exist", file=sys.stderr)
    return 0
