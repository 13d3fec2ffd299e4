"""Prometheus metrics of the sink. Each sink gets its own registry in tests; ``capmon sink``
registers them in the default registry and serves them over HTTP."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = REGISTRY if registry is None else registry
        self.registry = registry
        self.messages = Counter(
            "capmon_sink_messages",
            "Records consumed from the output topics",
            ["topic"],
            registry=registry,
        )
        self.malformed = Counter(
            "capmon_sink_malformed_messages",
            "Records skipped because they are not an outbound message",
            ["topic"],
            registry=registry,
        )
        self.rows_inserted = Counter(
            "capmon_sink_rows_inserted",
            "Rows inserted into history tables",
            ["table"],
            registry=registry,
        )
        self.rows_duplicate = Counter(
            "capmon_sink_rows_duplicate",
            "Rows already present (replays), skipped by ON CONFLICT DO NOTHING",
            ["table"],
            registry=registry,
        )
        self.rows_rejected = Counter(
            "capmon_sink_rows_rejected",
            "Rows the database refused as data errors, skipped after isolation",
            registry=registry,
        )
        self.batches = Counter(
            "capmon_sink_batches", "Batches committed to the database", registry=registry
        )
        self.write_seconds = Histogram(
            "capmon_sink_write_seconds",
            "Time to write one batch (one transaction)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.db_errors = Counter(
            "capmon_sink_db_errors",
            "Failed batch writes, by kind (transient: retried with backoff)",
            ["kind"],
            registry=registry,
        )
        self.db_up = Gauge(
            "capmon_sink_db_up", "1 when the last database write succeeded", registry=registry
        )
        self.backoff_seconds = Gauge(
            "capmon_sink_backoff_seconds",
            "Current retry delay (0 when writing normally)",
            registry=registry,
        )
        self.paused = Gauge(
            "capmon_sink_paused",
            "1 while fetching is paused (database behind or down)",
            registry=registry,
        )
        self.commit_failures = Counter(
            "capmon_sink_offset_commit_failures",
            "Kafka offset commits that failed after the database commit (replayed, harmlessly)",
            registry=registry,
        )
        self.discarded_batches = Counter(
            "capmon_sink_discarded_batches",
            "Uncommitted batches dropped at a rebalance (re-read from the committed offsets)",
            registry=registry,
        )
        self.committed_offset = Gauge(
            "capmon_sink_committed_offset",
            "Last committed offset",
            ["topic", "partition"],
            registry=registry,
        )
