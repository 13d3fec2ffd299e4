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
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from capmon.settings import Settings, get_settings

CONTRIBUTIONS_TOPIC = "capmon.rollup-contributions"
# internal: timer ticks, one per partition, so staleness is evaluated inside stream
# iteration (where the changelog tables can be written) rather than in a bare timer.
TICKS_TOPIC = "capmon.ticks"


# The worker's changelog-backed tables (faust names their changelogs
# "<app id>-<table>-changelog"), and faust's own leader topic.
TABLES = ("wards", "hospitals", "scopes")


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic capmon owns, with its cleanup policy (DESIGN.md, Topics)."""
    n = settings.topic_partitions
    app_id = settings.topic(settings.worker_id)  # the faust app id (and consumer group)
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
        # faust creates these at start-up itself, but joins the consumer group before their
        # leaders serve: the first assignment then ignores them ("Ignoring missing topic")
        # and the first changelog sends retry through the election (a commit of 2 s seen).
        *(
            TopicSpec(f"{app_id}-{table}-changelog", n, {"cleanup.policy": "compact"})
            for table in TABLES
        ),
        TopicSpec(f"{app_id}-__assignor-__leader", 1, {}),
    ]


async def ensure_topics(settings: Settings, *, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics and wait until every partition of every capmon topic has a
    leader that serves; returns the names created. Existing topics are left alone."""
    created = await _create_missing(settings, timeout_s)
    await wait_topics_ready(
        settings.kafka_bootstrap_servers,
        [spec.name for spec in topic_specs(settings)],
        within=max(timeout_s, 60.0),
    )
    return created


async def wait_topics_ready(bootstrap: str, topics: Sequence[str], *, within: float = 60.0) -> None:
    """Wait until every partition of ``topics`` answers its leader's ListOffsets.

    A topic just created is named in the metadata before its partitions' leaders serve:
    the first producers and readers would get NotLeaderForPartition and retry through the
    election, under load for long enough to miss their own deadlines.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while not await _serving(consumer, topics):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"timed out after {within:.0f}s waiting for the leaders of {', '.join(topics)}"
                )
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def _serving(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> bool:
    await consumer._client.force_metadata_update()
    partitions: list[TopicPartition] = []
    for topic in topics:
        found = consumer.partitions_for_topic(topic)
        if not found:
            return False
        partitions += [TopicPartition(topic, p) for p in found]
    try:
        await consumer.end_offsets(partitions)
    except KafkaError:
        return False
    return True


async def _create_missing(settings: Settings, timeout_s: float) -> list[str]:
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
