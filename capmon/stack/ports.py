"""Is a TCP port free to listen on, and is something answering on it."""

from __future__ import annotations

import contextlib
import socket

import psutil

from capmon.stack.errors import StackError

LOCALHOST = "127.0.0.1"


def port_is_free(port: int, host: str = LOCALHOST) -> bool:
    """True when a server could listen on ``host:port`` now.

    SO_REUSEADDR mirrors what Kafka and PostgreSQL set, so connections of a just
    stopped server lingering in TIME_WAIT do not count as "taken".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = LOCALHOST, timeout: float = 0.5) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_holder(port: int) -> str | None:
    """Best-effort description of the process listening on ``port`` (needs permission)."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    return None
                with contextlib.suppress(psutil.Error):
                    proc = psutil.Process(conn.pid)
                    return f"pid {conn.pid} ({' '.join(proc.cmdline())[:120]})"
                return f"pid {conn.pid}"
    return None


def require_free(port: int, *, purpose: str, option: str) -> None:
    """Raise a StackError naming the port, its use and who holds it, unless it is free."""
    if port_is_free(port):
        return
    holder = port_holder(port)
    by = f" by {holder}" if holder else " by another process"
    raise StackError(
        f"port {port} ({purpose}) is already taken{by}. Stop that process or choose "
        f"another port with {option}."
    )
