"""All runtime configuration, read from the environment with the ``CAPMON_`` prefix.

One flat settings class keeps the configuration table in the README honest: every
field here is one row there, and ``docker-compose.yml`` is checked against it by a test.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

DEV_SECRET = "capmon-development-only-secret"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAPMON_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    # Local stack (deploy/): everything it downloads or writes lives under data_dir.
    data_dir: Path = Field(default=REPO_ROOT / "var")
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "768m"
    postgres_port: int = 15432

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    topic_prefix: str = ""
    topic_events: str = "capmon.events"
    topic_invalid: str = "capmon.invalid"
    topic_ward_state: str = "capmon.ward-state"
    topic_rollups: str = "capmon.rollups"
    topic_alerts: str = "capmon.alerts"
    topic_reference: str = "capmon.reference"
    topic_partitions: int = 6
    topic_replication_factor: int = 1
    events_retention_ms: int = 7 * 24 * 3600 * 1000

    # Reference data (regions, hospitals, wards) and target values; empty means the
    # versioned files in schemas/data/.
    reference_dir: Path | None = None
    targets_file: Path | None = None

    # Database: empty means the embedded PostgreSQL of the local stack.
    database_url: SecretStr | None = None

    # Stream processing
    worker_id: str = "capmon-worker"
    worker_web_port: int = 6066
    table_store: Literal["auto", "rocksdb", "memory"] = "auto"
    lateness_seconds: int = 6 * 3600
    future_tolerance_seconds: int = 300
    alert_hold_seconds: int = 600
    alert_clear_margin_pp: float = 2.0
    stale_check_interval_s: float = 15.0
    # A processing round takes up to this many Kafka messages, or what arrived within
    # this many seconds: bigger rounds coalesce more events per ward (throughput),
    # shorter waits bound the added latency.
    worker_round_max_messages: int = 2000
    worker_round_max_wait_s: float = 0.05
    # Changed states are written to the tables (and their changelogs) this often, and the
    # input they cover is acknowledged only then: a longer interval writes less per event,
    # a shorter one replays less after a crash.
    worker_checkpoint_interval_s: float = 2.0
    # While half a round or more of input waits behind a round, changed wards and scopes
    # are emitted at most this often, or less often when emitting takes longer than a tenth
    # of it (keeping up, after every round): the added latency under a backlog.
    worker_emit_interval_s: float = 1.0
    # Per partition and fetch: with 50-event messages of ~13 KB, faust's default (1 MiB)
    # held the worker idle between fetches a third of the time.
    worker_fetch_max_bytes: int = 16 * 1024 * 1024
    # The longest a fetch waits at the broker for data (faust fixes 1,500 ms, which delayed
    # input by up to that much; see streams.app._set_fetch_max_wait).
    worker_fetch_max_wait_ms: int = 50
    # How often the worker logs (INFO) where its time went: busy share per phase, rounds.
    worker_stats_interval_s: float = 10.0

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    webhook_secret: SecretStr = SecretStr(DEV_SECRET)
    token_pepper: SecretStr = SecretStr(DEV_SECRET)
    ingest_max_events: int = 1000
    ingest_max_bytes: int = 1_000_000
    ws_queue_limit: int = 1000

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_development(self) -> Settings:
        if self.environment == "production":
            for name in ("webhook_secret", "token_pepper"):
                if getattr(self, name).get_secret_value() == DEV_SECRET:
                    raise ValueError(f"CAPMON_{name.upper()} must be set in production")
        return self

    def topic(self, name: str) -> str:
        """Full topic name, with the optional prefix (tests use one per test)."""
        return f"{self.topic_prefix}{name}"

    @property
    def kafka_dir(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def subprocess_env(settings: Settings, **overrides: object) -> dict[str, str]:
    """The environment that makes a ``capmon`` subprocess read exactly these settings
    (the demo, the test fixtures and the benchmarks start services this way)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"CAPMON_{name.upper()}"] = str(value)
    for name, value in overrides.items():
        env[f"CAPMON_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
