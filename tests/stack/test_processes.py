from __future__ import annotations

import signal
import sys
from pathlib import Path

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
from tests.fixtures.waiting import wait_for


def test_pid_file_round_trip(tmp_path: Path) -> None:
    pid_file = tmp_path / "x" / "kafka.pid"
    assert read_pid(pid_file) is None
    write_pid(pid_file, 4242)
    assert read_pid(pid_file) == 4242
    pid_file.write_text("garbage")
    assert read_pid(pid_file) is None


def test_a_detached_process_is_ours_only_with_matching_markers(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    output = tmp_path / "out.log"
    script = "import sys, time; print('hello', flush=True); time.sleep(60)"
    pid = spawn_detached([sys.executable, "-c", script, marker], output=output)
    try:
        assert is_alive(pid)
        wait_for(lambda: "hello" in output.read_text(), timeout=30, what="output in the log")
        proc = find_ours(pid, [marker])
        assert proc is not None
        assert find_ours(pid, [marker, "something-else"]) is None
        assert find_ours(None, [marker]) is None
        stop_process(proc, sig=signal.SIGTERM, timeout=10)
        assert not is_alive(pid)
        assert find_ours(pid, [marker]) is None
    finally:
        leftover = find_ours(pid, [marker])
        if leftover is not None:
            leftover.kill()


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 2) == "line 98\nline 99"
    assert tail(tmp_path / "missing.log") == ""


def test_tail_since_skips_an_earlier_run(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("old run\n")
    offset = size_of(log)
    with log.open("a") as f:
        f.write("new run\n")
    assert tail(log, since=offset) == "new run"
    assert size_of(tmp_path / "missing.log") == 0
