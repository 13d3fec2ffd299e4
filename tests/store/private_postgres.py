"""A PostgreSQL server owned by one test (or one benchmark run).

The shared test stack's PostgreSQL serves every helper's tests at once, so a test that stops the
database mid-stream needs a server of its own: the stack's ``EmbeddedPostgres`` on a free port
under a directory the caller owns. ``stop()`` then ``start()`` keeps data and port.
"""

from __future__ import annotations

import socket
from pathlib import Path

from capmon.stack.postgres import EmbeddedPostgres


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivatePostgres:
    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server = EmbeddedPostgres(data_dir=data_dir, port=self.port, say=lambda _: None)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.up()

    def stop(self) -> None:
        self._server.down()
