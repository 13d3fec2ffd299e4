"""Pure helpers for the local Kafka broker: file layout, configuration text, command lines.

One node is both KRaft controller and broker. Everything replicated is set to one
replica, because there is only one; the rest stays at Kafka's defaults so the local
broker behaves like a production one where it matters (partitioning, compaction).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NODE_ID = 1
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
KAFKA_JAR_PREFIX = "kafka_2.13-"


@dataclass(frozen=True, slots=True)
class KafkaLayout:
    """Where the broker's files live under the stack's data directory."""

    data_dir: Path

    @property
    def home(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def pom_digest_file(self) -> Path:
        return self.libs / ".pom-sha256"

    @property
    def log_dirs(self) -> Path:
        return self.home / "data"

    @property
    def meta_properties(self) -> Path:
        return self.log_dirs / "meta.properties"

    @property
    def server_properties(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.home / "log4j2.properties"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "kafka.log"

    @property
    def console_file(self) -> Path:
        """stdout/stderr of the JVM: failures before log4j is configured land here."""
        return self.data_dir / "logs" / "kafka.out"


def render_server_properties(*, port: int, controller_port: int, log_dirs: Path) -> str:
    settings: dict[str, str | int] = {
        "process.roles": "broker,controller",
        "node.id": NODE_ID,
        # Static quorum. Kafka 4.x refuses `format --standalone` together with voters.
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dirs),
        # Topics are created up front with the partition count their tables need
        # (streams/topics.py; faust creates its changelogs through the admin API).
        # A topic auto-created by a first producer would get the broker default and
        # silently break co-partitioning, so a missing topic must fail loudly instead.
        "auto.create.topics.enable": "false",
        "num.partitions": 1,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        # Fewer internal partitions than the default 50: the first consumer group
        # starts faster, and one node never needs the spread.
        "offsets.topic.num.partitions": 10,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 10,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # Tests and the demo start consumers one after another; waiting 3 s for
        # more members to join only slows every start down.
        "group.initial.rebalance.delay.ms": 0,
        # The cleaner's dedupe buffer is heap: the default 128 MB is a lot of 768 MB.
        "log.cleaner.dedupe.buffer.size": 32 * 1024 * 1024,
        "delete.topic.enable": "true",
    }
    lines = ["# Written by `capmon stack up` on every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_log4j2(log_file: Path) -> str:
    """log4j2 configuration: everything to one rolling file, chatty loggers quieter."""
    return "\n".join(
        [
            "# Written by `capmon stack up`.",
            "status = warn",
            "appender.file.type = RollingFile",
            "appender.file.name = FILE",
            f"appender.file.fileName = {log_file}",
            f"appender.file.filePattern = {log_file}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 20MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = FILE",
            # One line per request and per partition state change: noise at INFO.
            "logger.request.name = kafka.request.logger",
            "logger.request.level = WARN",
            "logger.state.name = state.change.logger",
            "logger.state.level = WARN",
            "",
        ]
    )


def classpath(libs: Path) -> str:
    return f"{libs}/*"


def server_command(
    *, java: Path, heap: str, libs: Path, log4j_config: Path, server_properties: Path
) -> list[str]:
    return [
        str(java),
        f"-Xmx{heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        # A broker out of memory is broken; dying makes `status` say so.
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_config}",
        "-cp",
        classpath(libs),
        MAIN_CLASS,
        str(server_properties),
    ]


def format_command(
    *, java: Path, libs: Path, log4j_config: Path, server_properties: Path, cluster_id: str
) -> list[str]:
    return [
        str(java),
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={log4j_config}",
        "-cp",
        classpath(libs),
        STORAGE_TOOL_CLASS,
        "format",
        "-t",
        cluster_id,
        "-c",
        str(server_properties),
    ]


def fetch_command(*, mvn: Path, pom: Path, output_dir: Path) -> list[str]:
    return [
        str(mvn),
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={output_dir}",
    ]


def new_cluster_id(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A Kafka cluster id, as ``StorageTool random-uuid`` prints one.

    Kafka's Uuid is 16 random bytes in URL-safe base64 without padding, and Kafka never
    hands out one that begins with '-' (a command line would read it as an option).
    """
    while True:
        text = base64.urlsafe_b64encode(random_bytes(16)).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Maven 3.8 colours its output even in batch mode; error messages want plain text."""
    return _ANSI_ESCAPE.sub("", text)


def pom_digest(pom: bytes) -> str:
    return hashlib.sha256(pom).hexdigest()


def kafka_version(jar_names: list[str]) -> str | None:
    """The Kafka version from the broker jar's name (``kafka_2.13-4.1.1.jar``)."""
    for name in jar_names:
        if name.startswith(KAFKA_JAR_PREFIX) and name.endswith(".jar"):
            return name.removeprefix(KAFKA_JAR_PREFIX).removesuffix(".jar")
    return None


def parse_properties(text: str) -> dict[str, str]:
    """The simple ``key=value`` subset of Java properties that meta.properties uses."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def advertised_bootstrap(properties: dict[str, str]) -> str | None:
    """``host:port`` clients connect to, from a rendered server.properties."""
    for listener in properties.get("advertised.listeners", "").split(","):
        _, sep, address = listener.partition("://")
        if sep and address:
            return address
    return None
