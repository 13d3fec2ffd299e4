"""Pure helpers for the local PostgreSQL: file layout, configuration, URLs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SUPERUSER = "capmon"
DATABASE = "capmon"
CONF_NAME = "capmon.conf"
# Appended once to postgresql.conf; capmon.conf itself is rewritten on every start,
# so a changed port or setting takes effect without touching initdb's file again.
INCLUDE_LINE = f"include_if_exists = '{CONF_NAME}'"


@dataclass(frozen=True, slots=True)
class PostgresLayout:
    data_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def version_file(self) -> Path:
        return self.pgdata / "PG_VERSION"

    @property
    def main_conf(self) -> Path:
        return self.pgdata / "postgresql.conf"

    @property
    def capmon_conf(self) -> Path:
        return self.pgdata / CONF_NAME

    @property
    def postmaster_pid(self) -> Path:
        return self.pgdata / "postmaster.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "postgres.log"


@dataclass(frozen=True, slots=True)
class PostmasterPid:
    """The first lines of postmaster.pid, which the server writes and removes itself."""

    pid: int
    pgdata: str
    port: int | None
    status: str


def parse_postmaster_pid(text: str) -> PostmasterPid | None:
    # Line order is fixed by PostgreSQL (pidfile.h): pid, data dir, start time, port,
    # socket dir, listen address, shared memory key, status (once started).
    lines = [line.strip() for line in text.splitlines()]
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].isdigit() else None
    return PostmasterPid(
        pid=pid,
        pgdata=lines[1] if len(lines) > 1 else "",
        port=port,
        status=lines[7] if len(lines) > 7 else "",
    )


def render_conf(port: int) -> str:
    settings = {
        # TCP on loopback only; trust authentication is safe only because of this.
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        # No Unix socket: its path would have to be short and writable by the server
        # user, and every client here connects over TCP anyway.
        "unix_socket_directories": "''",
        # Parallel test runs each create databases and connection pools.
        "max_connections": "300",
        "shared_buffers": "128MB",
        "timezone": "'UTC'",
        "log_timezone": "'UTC'",
    }
    lines = ["# Written by `capmon stack up` on every start; edits are overwritten."]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def initdb_args(pgdata: Path) -> list[str]:
    return [
        "-D",
        str(pgdata),
        "-U",
        SUPERUSER,
        "--auth-local=trust",
        "--auth-host=trust",
        "--encoding=UTF8",
        # Byte-order collation: the same results on every machine, no OS locale needed.
        "--locale=C",
        "--no-instructions",
    ]


def pg_ctl_start_args(pgdata: Path, log_file: Path) -> list[str]:
    # -W: do not wait here; the caller waits for a real connection with its own deadline.
    return ["-D", str(pgdata), "-l", str(log_file), "-W", "start"]


def local_database_url(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, fit for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"not a postgresql:// URL: {redact_url(url)}")
    return urlunsplit(parts._replace(path=f"/{database}"))
