"""``capmon stack`` without starting anything: exit codes and error reporting."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from capmon.settings import get_settings
from capmon.stack import cli
from capmon.stack.errors import StackError
from capmon.stack.stack import Stack


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def args(tmp_path: Path) -> list[str]:
    return [
        "--data-dir",
        str(tmp_path),
        "--kafka-port",
        str(free_port()),
        "--kafka-controller-port",
        str(free_port()),
        "--postgres-port",
        str(free_port()),
    ]


@pytest.fixture(autouse=True)
def no_external_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAPMON_DATABASE_URL", raising=False)
    get_settings.cache_clear()


def test_status_of_a_stack_that_never_ran_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", *args(tmp_path)]) == cli.EXIT_NOT_RUNNING
    out = capsys.readouterr().out
    assert "kafka" in out
    assert "postgres" in out
    assert out.count("stopped") == 2


def test_down_of_a_stack_that_never_ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["down", *args(tmp_path)]) == 0
    assert "nothing was running" in capsys.readouterr().out


def test_a_stack_error_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(self: Stack, **_: bool) -> None:
        raise StackError("port 19092 (Kafka) is already taken")

    monkeypatch.setattr(Stack, "up", fail)
    assert cli.main(["up", *args(tmp_path)]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.strip() == "capmon stack up: port 19092 (Kafka) is already taken"


def test_command_line_options_override_settings(tmp_path: Path) -> None:
    parsed = cli._parser().parse_args(["up", "--data-dir", str(tmp_path), "--kafka-port", "1234"])
    settings = cli._settings(parsed)
    assert settings.data_dir == tmp_path
    assert settings.kafka_port == 1234
    assert settings.postgres_port == get_settings().postgres_port


def test_a_taken_port_stops_up_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = args(tmp_path)
    kafka_port = int(argv[argv.index("--kafka-port") + 1])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", kafka_port))
        squatter.listen()
        assert cli.main(["up", *argv]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert f"port {kafka_port} (Kafka) is already taken" in err
    assert "--kafka-port" in err
    # PostgreSQL would start first; the check came before it.
    assert not (tmp_path / "postgres").exists()
