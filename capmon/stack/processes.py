"""Starting a detached server process, and finding, checking and stopping it again.

A pid alone is not proof: after a reboot or a crash the number may belong to some
other program. A process counts as ours only if its command line holds markers that
name this data directory, so ``down`` never signals a stranger.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(path)


def find_ours(pid: int | None, markers: Sequence[str]) -> psutil.Process | None:
    """The live process ``pid`` if its command line contains every marker, else None."""
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = "\0".join(proc.cmdline())
    except psutil.Error:
        return None
    return proc if all(marker in cmdline for marker in markers) else None


def spawn_detached(
    args: Sequence[str],
    *,
    output: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``args`` in a new session, not as our child; return its pid.

    A shell starts the server in the background and exits at once, so the server is
    adopted by init: a long-lived caller (pytest, the demo) neither holds a process
    handle for it nor collects a zombie if it dies. stdout and stderr append to
    ``output``: a JVM that dies before its logging is configured leaves its last
    words there.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    launcher = ["/bin/sh", "-c", '"$@" </dev/null >>"$0" 2>&1 & echo $!', str(output), *args]
    result = subprocess.run(
        launcher,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        check=False,
        timeout=30,
    )
    try:
        return int(result.stdout.strip())
    except ValueError:
        raise OSError(f"could not start {args[0]}: {result.stderr.strip()}") from None


def stop_process(proc: psutil.Process, *, sig: int, timeout: float) -> None:
    """Send ``sig`` for a clean shutdown; after ``timeout`` seconds, SIGKILL."""
    with contextlib.suppress(psutil.NoSuchProcess):
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def tail(path: Path, lines: int = 20, *, since: int = 0) -> str:
    """The last ``lines`` lines of a log file written after byte offset ``since``."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(since, size - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def size_of(path: Path) -> int:
    """Current size of a log file (0 if missing): where this run's lines begin."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
