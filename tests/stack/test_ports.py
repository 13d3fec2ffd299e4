from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from capmon.stack.errors import StackError
from capmon.stack.ports import port_accepts, port_is_free, require_free


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_listening_port_is_taken(listening_port: int) -> None:
    assert not port_is_free(listening_port)
    assert port_accepts(listening_port)


def test_require_free_names_the_port_and_the_option(listening_port: int) -> None:
    with pytest.raises(StackError, match=rf"port {listening_port} \(Kafka\).*--kafka-port"):
        require_free(listening_port, purpose="Kafka", option="--kafka-port")


def test_a_closed_port_is_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert port_is_free(port)
    assert not port_accepts(port)
