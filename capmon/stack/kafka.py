"""The local Kafka broker: fetch its jars, format its storage, start, wait, stop.

The jars come from Maven Central through deploy/kafka/pom.xml, once: they are kept
under the data directory with the pom's digest, and fetched again only when the pom
changes. Storage is formatted once (meta.properties marks it), so data survives
``down`` and ``up``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psutil

from capmon.settings import REPO_ROOT
from capmon.stack import kafka_config as config
from capmon.stack.errors import StackError
from capmon.stack.ports import LOCALHOST, port_accepts, require_free
from capmon.stack.processes import (
    find_ours,
    is_alive,
    read_pid,
    size_of,
    spawn_detached,
    stop_process,
    tail,
    write_pid,
)
from capmon.stack.status import ServiceStatus, State
from capmon.stack.tools import find_java, find_maven

DEFAULT_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
FETCH_TIMEOUT_S = 900.0
FORMAT_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
POLL_S = 0.25

T = TypeVar("T")


class KafkaBroker:
    """One KRaft node (broker + controller) whose files all live under ``data_dir``."""

    name = "kafka"

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int,
        controller_port: int,
        heap: str,
        pom: Path = DEFAULT_POM,
        say: Callable[[str], None] = print,
    ) -> None:
        self.layout = config.KafkaLayout(data_dir)
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.pom = pom
        self._say = say
        self._log_offsets: dict[Path, int] = {}

    @property
    def bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def process(self) -> psutil.Process | None:
        """The running broker started from this data directory, if any."""
        markers = [config.MAIN_CLASS, str(self.layout.server_properties)]
        return find_ours(read_pid(self.layout.pid_file), markers)

    def running_bootstrap(self) -> str:
        """Where the running broker listens: the ports it was started with win over ours."""
        with contextlib.suppress(OSError):
            props = config.parse_properties(self.layout.server_properties.read_text())
            return config.advertised_bootstrap(props) or self.bootstrap
        return self.bootstrap

    def status(self) -> ServiceStatus:
        proc = self.process()
        if proc is None:
            return ServiceStatus(self.name, State.STOPPED, self.bootstrap)
        address = self.running_bootstrap()
        host, _, port = address.rpartition(":")
        detail = self.version() or ""
        if not port_accepts(int(port), host):
            detail = "process alive but not accepting connections"
        return ServiceStatus(self.name, State.RUNNING, address, proc.pid, detail)

    def version(self) -> str | None:
        with contextlib.suppress(OSError):
            return config.kafka_version(sorted(p.name for p in self.layout.libs.iterdir()))
        return None

    def up(self, *, timeout_s: float = 60.0) -> ServiceStatus:
        if self.process() is not None:
            status = self.status()
            self._say(f"kafka is already running at {status.address} (pid {status.pid})")
            return status
        self.layout.pid_file.unlink(missing_ok=True)  # stale: its process is gone
        java = self.preflight()
        self.ensure_libs()
        self._write_config()
        self._format_storage(java)
        started = time.monotonic()
        command = config.server_command(
            java=java,
            heap=self.heap,
            libs=self.layout.libs,
            log4j_config=self.layout.log4j_config,
            server_properties=self.layout.server_properties,
        )
        # Error messages show only what this start wrote, not an earlier run's lines.
        self._log_offsets = {
            path: size_of(path) for path in (self.layout.log_file, self.layout.console_file)
        }
        try:
            pid = spawn_detached(command, output=self.layout.console_file, cwd=self.layout.home)
        except (OSError, subprocess.SubprocessError) as exc:
            raise StackError(f"could not start kafka: {exc}") from exc
        write_pid(self.layout.pid_file, pid)
        self._wait_ready(pid, timeout_s)
        self._say(
            f"kafka started at {self.bootstrap} (pid {pid}, Kafka {self.version()}, "
            f"ready in {time.monotonic() - started:.1f}s)"
        )
        return self.status()

    def preflight(self) -> Path:
        """Check what a start needs before anything starts; returns the java to use."""
        java = find_java()
        if not self.libs_current():
            find_maven()
        require_free(self.port, purpose="Kafka", option="--kafka-port")
        require_free(
            self.controller_port,
            purpose="Kafka controller",
            option="--kafka-controller-port",
        )
        return java

    def down(self) -> bool:
        """Stop the broker this data directory started; False if none was running."""
        proc = self.process()
        if proc is None:
            self.layout.pid_file.unlink(missing_ok=True)
            return False
        self._say(f"stopping kafka (pid {proc.pid}) ...")
        stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S)
        self.layout.pid_file.unlink(missing_ok=True)
        return True

    def _pom_digest(self) -> str:
        try:
            return config.pom_digest(self.pom.read_bytes())
        except OSError as exc:
            raise StackError(f"cannot read the Kafka pom {self.pom}: {exc}") from exc

    def libs_current(self) -> bool:
        """True when the jars were fetched for exactly the current pom."""
        with contextlib.suppress(OSError):
            fetched = self.layout.pom_digest_file.read_text().strip()
            return fetched == self._pom_digest() and self.version() is not None
        return False

    def ensure_libs(self) -> None:
        """Fetch the jars named by the pom, unless the same pom already fetched them."""
        if self.libs_current():
            return
        digest = self._pom_digest()
        libs = self.layout.libs
        mvn = find_maven()
        # Fetch into a side directory and swap: a failed or changed fetch must not
        # leave two Kafka versions on one classpath.
        staging = libs.with_name("libs.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self._say(f"fetching the Kafka jars with Maven (once) into {libs} ...")
        command = config.fetch_command(mvn=mvn, pom=self.pom, output_dir=staging)
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False
            )
            output, code = result.stdout + result.stderr, result.returncode
        except subprocess.TimeoutExpired as exc:
            output, code = str(exc.output or ""), -1
        jars = sorted(p.name for p in staging.iterdir())
        if code != 0 or config.kafka_version(jars) is None:
            shutil.rmtree(staging, ignore_errors=True)
            lines = config.strip_ansi(output).strip().splitlines()
            last = "\n".join(lines[-25:]) or "(no output)"
            raise StackError(
                f"could not fetch the Kafka jars with Maven (exit {code}):\n{last}\n"
                f"Command: {' '.join(command)}\n"
                "Check access to Maven Central (or a mirror in ~/.m2/settings.xml), "
                "then run `capmon stack up` again."
            )
        (staging / self.layout.pom_digest_file.name).write_text(digest + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)

    def _write_config(self) -> None:
        self.layout.home.mkdir(parents=True, exist_ok=True)
        self.layout.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.layout.server_properties.write_text(
            config.render_server_properties(
                port=self.port,
                controller_port=self.controller_port,
                log_dirs=self.layout.log_dirs,
            )
        )
        self.layout.log4j_config.write_text(config.render_log4j2(self.layout.log_file))

    def _format_storage(self, java: Path) -> None:
        if self.layout.meta_properties.exists():
            return  # formatted by an earlier `up`: keep topics and offsets
        self.layout.log_dirs.mkdir(parents=True, exist_ok=True)
        command = config.format_command(
            java=java,
            libs=self.layout.libs,
            log4j_config=self.layout.log4j_config,
            server_properties=self.layout.server_properties,
            cluster_id=config.new_cluster_id(),
        )
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"formatting Kafka storage timed out: {' '.join(command)}") from exc
        if result.returncode != 0:
            raise StackError(
                f"formatting Kafka storage in {self.layout.log_dirs} failed "
                f"(exit {result.returncode}):\n{(result.stdout + result.stderr).strip()}"
            )

    def _wait_ready(self, pid: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not is_alive(pid):
                self.layout.pid_file.unlink(missing_ok=True)
                raise StackError(f"kafka exited during start-up.\n{self._log_hint()}")
            if port_accepts(self.port) and run_coroutine(broker_answers(self.bootstrap)):
                return
            if time.monotonic() >= deadline:
                proc = self.process()
                if proc is not None:
                    stop_process(proc, sig=signal.SIGTERM, timeout=10)
                self.layout.pid_file.unlink(missing_ok=True)
                raise StackError(
                    f"kafka did not answer a metadata request on {self.bootstrap} within "
                    f"{timeout_s:.0f}s (stopped it again).\n{self._log_hint()}"
                )
            time.sleep(POLL_S)

    def _log_hint(self) -> str:
        parts = []
        for path in (self.layout.log_file, self.layout.console_file):
            last = tail(path, 15, since=self._log_offsets.get(path, 0))
            if last:
                parts.append(f"--- last lines of {path}:\n{last}")
        parts.append(f"Logs: {self.layout.log_file} and {self.layout.console_file}")
        return "\n".join(parts)


async def broker_answers(bootstrap: str, *, timeout_s: float = 5.0) -> bool:
    """True when the broker answers a metadata request and lists itself as a broker."""
    from aiokafka.client import AIOKafkaClient
    from aiokafka.errors import KafkaError

    with _quiet("aiokafka"):
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
        )
        try:
            await client.bootstrap()
            return bool(client.cluster.brokers())
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await client.close()


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even when called inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Refused connections while a broker boots are expected, not errors to print."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)
