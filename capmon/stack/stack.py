"""The local stack as one object: Kafka plus PostgreSQL under one data directory.

``up`` and ``down`` hold an exclusive lock on ``<data_dir>/stack.lock``, so parallel
test sessions that all want the shared test stack start it once and then find it running.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from capmon.settings import Settings
from capmon.stack.errors import StackError
from capmon.stack.kafka import KafkaBroker
from capmon.stack.postgres import EmbeddedPostgres, ExternalPostgres
from capmon.stack.status import ServiceStatus


@dataclass(frozen=True, slots=True)
class StackInfo:
    """Where the running stack answers."""

    kafka_bootstrap: str
    database_url: str
    services: tuple[ServiceStatus, ...]


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        say: Callable[[str], None] = print,
        kafka_timeout_s: float = 120.0,
        postgres_timeout_s: float = 60.0,
    ) -> None:
        self.data_dir = settings.data_dir.expanduser().resolve()
        self.kafka = KafkaBroker(
            data_dir=self.data_dir,
            port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
            heap=settings.kafka_heap,
            say=say,
        )
        self.embedded_postgres = EmbeddedPostgres(
            data_dir=self.data_dir, port=settings.postgres_port, say=say
        )
        external = settings.database_url.get_secret_value() if settings.database_url else None
        self.postgres: EmbeddedPostgres | ExternalPostgres = (
            ExternalPostgres(external, say=say) if external else self.embedded_postgres
        )
        self._kafka_timeout_s = kafka_timeout_s
        self._postgres_timeout_s = postgres_timeout_s

    def up(self, *, kafka: bool = True, postgres: bool = True) -> StackInfo:
        """Start what is not running yet and wait until it answers.

        ``kafka=False`` / ``postgres=False`` leave that service alone (tests given an
        external broker or database start only the other one).
        """
        with self._locked():
            # Check ports and tools of everything that will start before starting
            # anything, so a taken Kafka port does not leave a lone PostgreSQL behind.
            pg = self.postgres
            if postgres and isinstance(pg, EmbeddedPostgres) and pg.process() is None:
                pg.preflight()
            if kafka and self.kafka.process() is None:
                self.kafka.preflight()
            # PostgreSQL first: it is quick, and a broken database URL should fail
            # before the slower broker start.
            if postgres and isinstance(self.postgres, EmbeddedPostgres):
                self.postgres.up(timeout_s=self._postgres_timeout_s)
            elif postgres:
                self.postgres.up()  # someone else's server: a short check, not a start
            if kafka:
                self.kafka.up(timeout_s=self._kafka_timeout_s)
        return self.info()

    def down(self) -> list[str]:
        """Stop what ``up`` started from this data directory; the names stopped."""
        stopped: list[str] = []
        with self._locked():
            if self.kafka.down():
                stopped.append(self.kafka.name)
            # Also when CAPMON_DATABASE_URL is set now: an embedded server started
            # earlier from this data directory is still ours to stop.
            if self.embedded_postgres.down():
                stopped.append(self.embedded_postgres.name)
        return stopped

    def status(self) -> list[ServiceStatus]:
        return [self.kafka.status(), self.postgres.status()]

    def info(self) -> StackInfo:
        services = tuple(self.status())
        return StackInfo(
            kafka_bootstrap=self.kafka.running_bootstrap(),
            database_url=self.postgres.url
            if isinstance(self.postgres, ExternalPostgres)
            else services[1].address,
            services=services,
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            lock = (self.data_dir / "stack.lock").open("a")
        except OSError as exc:
            raise StackError(f"cannot use the data directory {self.data_dir}: {exc}") from exc
        with lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
