"""``capmon demo``: the whole system, live, on this machine, from one command.

Starts (or reuses) the local Kafka and PostgreSQL, migrates the database, creates the
topics, starts the worker, the sink and the API, issues a wall-display token, and runs
the simulator with a scenario at an accelerated speed. Ctrl-C stops every process it
started, then the stack it started (a stack that was already running is left running).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from capmon.settings import REPO_ROOT, Settings, get_settings
from capmon.stack import Stack, StackError
from capmon.stack.status import State


def _spawn(name: str, args: list[str], log_dir: Path) -> subprocess.Popen[bytes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"demo-{name}.log").open("ab")
    print(f"  starting {name:<9} log: {log_dir / f'demo-{name}.log'}")
    return subprocess.Popen(
        [sys.executable, "-m", "capmon.cli", *args],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )


def _stop(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _name, proc in reversed(processes):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name, proc in reversed(processes):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {name} did not stop in time: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def _wait_http(url: str, timeout_s: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        time.sleep(0.5)
    return False


def _issue_token(role: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "capmon.cli", "token", "create", "--role", role, "--name", "demo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[0]


def _simulator_args(args: argparse.Namespace) -> list[str]:
    """The past few hours at high speed (history for the sparklines), then real time.

    Event time never runs ahead of the wall clock: the pipeline rejects future events and
    judges staleness by the clock, so an always-accelerated demo would look stale or be
    refused. Catching up quickly gives history; real time keeps every value current.
    """
    history_s = int(args.history_hours * 3600)
    start = datetime.now(UTC) - timedelta(seconds=history_s)
    incident_after_s = history_s + int(args.incident_minutes * 60)
    return [
        "simulate",
        "--scenario",
        args.scenario,
        "--speed",
        str(args.speed),
        "--seed",
        str(args.seed),
        "--start",
        start.isoformat(timespec="seconds"),
        "--incident-after",
        f"{incident_after_s}s",
        "--silent-after",
        f"{incident_after_s}s",
        *(["--incident-region", args.incident_region] if args.scenario == "major-incident" else []),
    ]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="capmon demo", description=__doc__)
    parser.add_argument("--scenario", default="major-incident")
    parser.add_argument("--speed", type=float, default=720.0, help="x real time while catching up")
    parser.add_argument(
        "--history-hours",
        type=float,
        default=6.0,
        help="simulate this much of the past first (at --speed), then run in real time",
    )
    parser.add_argument("--incident-region", default="01", help="major-incident: region code")
    parser.add_argument(
        "--incident-minutes",
        type=float,
        default=3.0,
        help="major-incident: minutes after catching up with the clock",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--exit-after", type=float, default=0.0, help="stop by itself after N seconds (0 = never)"
    )
    args = parser.parse_args(argv)
    settings: Settings = get_settings()
    started_at = time.monotonic()
    # SIGTERM (a service manager, `timeout`) stops everything like Ctrl-C does; by default it
    # ended this process alone and left the worker, API, sink and simulator running.
    signal.signal(signal.SIGTERM, _interrupt)

    print("capmon demo: setting up (a second run reuses what the first installed)")
    stack = Stack(settings)
    already_running = all(s.state is State.RUNNING for s in stack.status())
    try:
        info = stack.up()
    except StackError as exc:
        print(f"capmon demo: {exc}", file=sys.stderr)
        return 1
    print(f"  Kafka       {info.kafka_bootstrap}")
    print(f"  PostgreSQL  {info.database_url}")

    from store.migrate import main as migrate
    from streams.topics import ensure_topics

    if migrate([]) != 0:
        print("capmon demo: migrations failed", file=sys.stderr)
        return 1
    asyncio.run(ensure_topics(settings))

    log_dir = settings.log_dir
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        processes.append(("worker", _spawn("worker", ["worker"], log_dir)))
        processes.append(("sink", _spawn("sink", ["sink"], log_dir)))
        # aggregates for the history API (sparklines): refreshed for the hours the sink marks
        processes.append(
            ("maintain", _spawn("maintain", ["maintain", "--interval", "20"], log_dir))
        )
        processes.append(("api", _spawn("api", ["api"], log_dir)))
        base = f"http://{settings.api_host}:{settings.api_port}"
        if not _wait_http(f"{base}/healthz", 60):
            print(f"capmon demo: the API did not answer; see {log_dir / 'demo-api.log'}")
            return 1
        token = _issue_token("national")
        processes.append(
            (
                "simulator",
                _spawn(
                    "simulator",
                    _simulator_args(args),
                    log_dir,
                ),
            )
        )
        print(f"\ncapmon is running (set-up took {time.monotonic() - started_at:.0f} s).")
        print(f"  Wall display:  {base}/?token={token}")
        print(f"  Region page:   {base}/region/01?token={token}")
        print(f"  Free beds:     {base}/search?token={token}")
        print(f"  API docs:      {base}/docs")
        print("Press Ctrl-C to stop.\n")
        deadline = time.monotonic() + args.exit_after if args.exit_after > 0 else None
        while deadline is None or time.monotonic() < deadline:
            for name, proc in processes:
                if proc.poll() is not None and name != "simulator":
                    print(f"capmon demo: {name} exited; see {log_dir / f'demo-{name}.log'}")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\ncapmon demo: stopping")
    finally:
        _stop(processes)
        if not already_running:
            stopped = stack.down()
            if stopped:
                print(f"  stopped {', '.join(stopped)}")
    return 0
