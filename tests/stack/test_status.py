from __future__ import annotations

from capmon.stack.status import ServiceStatus, State


def test_running_and_external_count_as_up() -> None:
    assert ServiceStatus("kafka", State.RUNNING, "127.0.0.1:1").ok
    assert ServiceStatus("postgres", State.EXTERNAL, "postgresql://db/x").ok
    assert not ServiceStatus("kafka", State.STOPPED, "127.0.0.1:1").ok
    assert not ServiceStatus("postgres", State.UNREACHABLE, "postgresql://db/x").ok


def test_line_shows_address_pid_and_detail() -> None:
    line = ServiceStatus("kafka", State.RUNNING, "127.0.0.1:19092", 42, "4.4.0").line()
    assert line.split() == ["kafka", "running", "127.0.0.1:19092", "pid", "42", "(4.4.0)"]
    assert ServiceStatus("kafka", State.STOPPED, "a:1").line().split() == [
        "kafka",
        "stopped",
        "a:1",
    ]
