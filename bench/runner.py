"""``capmon bench`` (``make bench``): run every benchmark against the local stack and write
the results.

Ensures the stack is up (``capmon.stack``), runs each script of ``SCRIPTS`` as its own
subprocess with a timeout (all within ``--budget`` seconds), and collects the JSON lines
they print into

- ``bench/results/latest.jsonl`` and a dated copy ``bench/results/<UTC time>.jsonl``,
- ``bench/results/latest.md``: the table for the README (figure, value, baseline, ratio,
  target, met?), with the date and the machine,
- ``bench/results/logs/<script>.log``: each script's progress output.

A script that is missing (not written yet), fails or times out gets a row saying so; the
others still run. Exit status: 0 when every script ran and every figure with a target met
it, 1 otherwise.

    capmon bench [--only worker_throughput,e2e_latency] [--skip ...] [--budget 840]
                 [--quick] [--profile DIR] [--results DIR] [--no-stack] [--cleanup]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from capmon.settings import REPO_ROOT, Settings, get_settings

BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_BUDGET_S = 14 * 60  # the whole run stays under 15 minutes (issue 9)


@dataclass(frozen=True, slots=True)
class Script:
    """One benchmark script: ``python -m bench.<module> <args>``."""

    module: str
    timeout_s: float
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] | None = None  # a tiny mode for smoke tests; None: skip
    owner: str = "bench"

    @property
    def path(self) -> Path:
        return BENCH_DIR / f"{self.module}.py"


# In run order. Timeouts are ceilings; the budget caps the sum. Others' scripts are run
# with their defaults (their owners tune them).
SCRIPTS: tuple[Script, ...] = (
    Script(
        "worker_throughput",
        330,
        quick_args=(
            "--sizes",
            "50,1",
            "--events-50",
            "5000",
            "--events-1",
            "500",
            "--baseline-rounds",
            "1",
            "--ceiling-events",
            "500",
        ),
    ),
    Script("decode_throughput", 60, quick_args=("--events", "500", "--rounds", "1")),
    Script("e2e_latency", 300, quick_args=("--quick",)),
    Script(
        "worker_memory",
        240,
        quick_args=("--factors", "1", "--days", "1", "--recent-hours", "1", "--timeout", "90"),
    ),
    Script(
        "worker_restart", 240, quick_args=("--stores", "memory", "--hours", "1", "--timeout", "90")
    ),
    Script("sink_throughput", 150, owner="store"),
    Script("history_query", 150, owner="store"),
    Script("api_search", 90, owner="api"),
    Script("ws_fanout", 150, owner="api"),
    Script("simulator_throughput", 90, owner="simulator"),
)


# -- targets (issues 4, 5, 6, 9) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    pattern: str  # regex on the figure name
    text: str
    met: Callable[[Mapping[str, Any]], bool | None]


def _value(line: Mapping[str, Any]) -> float | None:
    value = line.get("value")
    return float(value) if isinstance(value, int | float) else None


def _ratio(line: Mapping[str, Any]) -> float | None:
    ratio = line.get("ratio")
    return float(ratio) if isinstance(ratio, int | float) else None


def _all(*checks: bool | None) -> bool | None:
    if any(check is None for check in checks):
        return None
    return all(checks)


def _at_least(limit: float) -> Callable[[Mapping[str, Any]], bool | None]:
    def met(line: Mapping[str, Any]) -> bool | None:
        value = _value(line)
        return None if value is None else value >= limit

    return met


def _below(limit: float) -> Callable[[Mapping[str, Any]], bool | None]:
    def met(line: Mapping[str, Any]) -> bool | None:
        value = _value(line)
        return None if value is None else value < limit

    return met


def _worker_50(line: Mapping[str, Any]) -> bool | None:
    value, ratio = _value(line), _ratio(line)
    return _all(
        None if value is None else value >= 100_000, None if ratio is None else ratio >= 0.10
    )


def _fanout(line: Mapping[str, Any]) -> bool | None:
    value = _value(line)
    extra = line.get("extra") if isinstance(line.get("extra"), dict) else line
    memory = None
    for key in ("server_peak_rss_mb", "server_rss_mb", "rss_mb", "memory_mb"):
        if isinstance(extra, Mapping) and isinstance(extra.get(key), int | float):
            memory = float(extra[key])
            break
    return _all(None if value is None else value < 500, None if memory is None else memory < 300)


TARGETS: tuple[Target, ...] = (
    Target(
        r"^worker_throughput_50_per_message$",
        "≥ 100,000 events/s and ≥ 10 % of baseline",
        _worker_50,
    ),
    Target(r"^worker_throughput_1_per_message$", "≥ 4,000 events/s", _at_least(4_000)),
    Target(r"^e2e_latency_1000_eps$", "p99 < 250 ms", _below(250)),
    Target(r"ws_fanout", "p99 < 500 ms at 2,000 clients, server < 300 MB", _fanout),
    Target(r"^sink", "≥ 50 % of bare COPY", lambda line: _ratio_at_least(line, 0.5)),
    Target(r"^history_query", "< 100 ms", _below(100)),
    Target(r"free_capacity_search", "p99 < 20 ms at 500 requests/s", _below(20)),
)


def _ratio_at_least(line: Mapping[str, Any], limit: float) -> bool | None:
    ratio = _ratio(line)
    return None if ratio is None else ratio >= limit


def target_of(name: str) -> Target | None:
    for target in TARGETS:
        if re.search(target.pattern, name):
            return target
    return None


# -- running ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ScriptRun:
    script: Script
    lines: list[dict[str, Any]] = field(default_factory=list)
    status: str = "not run"  # ok | failed (exit N) | timed out | missing | skipped
    seconds: float = 0.0


def parse_lines(text: str) -> list[dict[str, Any]]:
    """The result lines among a script's stdout (JSON objects with name and value)."""
    lines: list[dict[str, Any]] = []
    for raw in text.splitlines():
        raw = raw.strip()
        if not raw.startswith("{"):
            continue
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict) and "name" in parsed and "value" in parsed:
            lines.append(parsed)
    return lines


def run_script(
    script: Script, *, timeout_s: float, args: Sequence[str], log_dir: Path
) -> ScriptRun:
    run = ScriptRun(script)
    if not script.path.exists():
        run.status = "missing"
        return run
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    started = time.monotonic()
    with (log_dir / f"{script.module}.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", f"bench.{script.module}", *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, _ = proc.communicate(timeout=timeout_s)
            run.status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            stdout, _ = proc.communicate()
            run.status = f"timed out after {timeout_s:.0f}s"
    run.seconds = time.monotonic() - started
    run.lines = parse_lines(stdout or "")
    return run


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Stop a script that ran out of time and everything it started: its workers and
    APIs run in sessions of their own, so they are found as descendants, not by group.
    SIGTERM first (a worker then leaves its consumer group cleanly), SIGKILL after 30 s."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    _, alive = psutil.wait_procs(family, timeout=30)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=10)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# -- the results files ------------------------------------------------------------------------


def _number(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _unmeasured(status: str) -> str:
    if status.startswith("not run"):
        return status
    if status == "missing":
        return "not measured: the script does not exist yet"
    return f"not measured: {status}"


def table_rows(runs: Iterable[ScriptRun]) -> list[list[str]]:
    rows: list[list[str]] = []
    for run in runs:
        if not run.lines:
            rows.append([f"`{run.script.module}`", _unmeasured(run.status), "—", "—", "—", "—"])
            continue
        for line in run.lines:
            name = str(line["name"])
            unit = str(line.get("unit") or "")
            target = target_of(name)
            raw_extra = line.get("extra")
            extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
            if line.get("value") is None:
                error = str(extra.get("error", run.status)).splitlines()[0][:120]
                value = f"not measured: {error}"
            else:
                value = f"{_number(line['value'])} {unit}".strip()
            baseline = "—"
            if line.get("baseline"):
                baseline = f"{_number(line.get('baseline_value'))} ({line['baseline']})"
            met = target.met(line) if target is not None else None
            rows.append(
                [
                    f"`{name}`",
                    value,
                    baseline,
                    _number(line.get("ratio")),
                    target.text if target is not None else "—",
                    "—" if target is None else {True: "yes", False: "**no**", None: "?"}[met],
                ]
            )
    return [[_cell(cell) for cell in row] for row in rows]


def machine_line(runs: Iterable[ScriptRun]) -> str:
    for run in runs:
        for line in run.lines:
            facts = line.get("machine")
            if isinstance(facts, dict):
                parts = [
                    f"{facts.get('cores')} cores ({facts.get('cpu', '?')})",
                    f"Python {facts.get('python')}",
                    f"Kafka {facts.get('kafka') or '?'}",
                    f"PostgreSQL {facts.get('postgres') or '?'}",
                ]
                return ", ".join(parts)
    return "unknown"


def render_markdown(runs: Sequence[ScriptRun], *, started: datetime, loads: Sequence[float]) -> str:
    header = ["figure", "value", "baseline (same run)", "ratio", "target", "met?"]
    rows = table_rows(runs)
    out = [
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {machine_line(runs)}; "
        f"load average {min(loads):.1f}–{max(loads):.1f} during the run "
        "(a shared machine: other work slows every figure; ratios drift less).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out += [
        "",
        "Reproduce: `make bench` (or `capmon bench`); one script: "
        "`python -m bench.<script>`. Raw lines: `bench/results/latest.jsonl`.",
    ]
    return "\n".join(out) + "\n"


def write_results(
    runs: Sequence[ScriptRun], results_dir: Path, *, started: datetime, loads: Sequence[float]
) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    lines = [line for run in runs for line in run.lines]
    body = "".join(json.dumps(line, default=str) + "\n" for line in lines)
    latest = results_dir / "latest.jsonl"
    latest.write_text(body)
    (results_dir / f"{started:%Y-%m-%dT%H%M%SZ}.jsonl").write_text(body)
    table = results_dir / "latest.md"
    table.write_text(render_markdown(runs, started=started, loads=loads))
    return latest, table


def all_met(runs: Iterable[ScriptRun]) -> bool:
    ok = True
    for run in runs:
        if run.status not in ("ok", "skipped"):  # missing, failed, timed out, not run
            ok = False
        for line in run.lines:
            target = target_of(str(line["name"]))
            if target is not None and target.met(line) is not True:
                ok = False
    return ok


# -- the command ------------------------------------------------------------------------------


def ensure_stack(settings: Settings) -> None:
    from capmon.stack import Stack

    def say(text: str) -> None:
        print(text, file=sys.stderr)

    Stack(settings, say=say).up()


async def _cleanup(settings: Settings) -> list[str]:
    """Delete the topics and groups of every bench prefix (runs that were killed)."""
    from aiokafka.admin import AIOKafkaAdminClient

    from bench.common import BENCH_PREFIX, delete_prefix_topics

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        names = set(await admin.list_topics())
        names |= {group for group, _ in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    prefixes = sorted({n.split(".", 1)[0] + "." for n in names if n.startswith(BENCH_PREFIX)})
    deleted: list[str] = []
    for prefix in prefixes:
        deleted += await delete_prefix_topics(settings.model_copy(update={"topic_prefix": prefix}))
    return deleted


def _names(text: str | None) -> set[str]:
    return {n.strip().removeprefix("bench.") for n in (text or "").split(",") if n.strip()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capmon bench", description="Run every benchmark and write bench/results/."
    )
    parser.add_argument("--only", help="scripts to run, comma-separated (default: all)")
    parser.add_argument("--skip", help="scripts to skip, comma-separated")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds in all")
    parser.add_argument(
        "--quick", action="store_true", help="tiny runs of the scripts that have a tiny mode"
    )
    parser.add_argument("--profile", type=Path, help="py-spy profiles of the worker go here")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="results directory")
    parser.add_argument("--no-stack", action="store_true", help="do not start the local stack")
    parser.add_argument(
        "--cleanup", action="store_true", help="delete leftover bench topics and exit"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if not args.no_stack:
        from capmon.stack import StackError

        try:
            ensure_stack(settings)
        except StackError as exc:
            print(f"capmon bench: {exc}", file=sys.stderr)
            return 2
    if args.cleanup:
        deleted = asyncio.run(_cleanup(settings))
        print(f"deleted {len(deleted)} bench topics", file=sys.stderr)
        return 0
    only, skip = _names(args.only), _names(args.skip)
    unknown = (only | skip) - {s.module for s in SCRIPTS}
    if unknown:
        print(f"capmon bench: unknown scripts {sorted(unknown)}", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    deadline = time.monotonic() + args.budget
    loads = [os.getloadavg()[0]]
    runs: list[ScriptRun] = []
    for script in SCRIPTS:
        run = ScriptRun(script)
        runs.append(run)
        if (only and script.module not in only) or script.module in skip:
            run.status = "skipped"
            continue
        script_args: tuple[str, ...] = script.args
        if args.quick:
            if script.quick_args is None:
                run.status = "skipped"
                continue
            script_args += script.quick_args
        if args.profile is not None and script.module == "worker_throughput":
            script_args += ("--profile", str(args.profile))
        remaining = deadline - time.monotonic()
        if remaining < 30:
            run.status = "not run: the time budget (--budget) was spent"
            continue
        print(f"bench: {script.module} ...", file=sys.stderr, flush=True)
        finished = run_script(
            script,
            timeout_s=min(script.timeout_s, remaining),
            args=script_args,
            log_dir=args.results / "logs",
        )
        run.lines, run.status, run.seconds = finished.lines, finished.status, finished.seconds
        loads.append(os.getloadavg()[0])
        print(
            f"bench: {script.module} {run.status} in {run.seconds:.0f}s, "
            f"{len(run.lines)} figure(s)",
            file=sys.stderr,
            flush=True,
        )
    if any(run.status.startswith("timed out") for run in runs):
        # a killed script could not delete its topics
        deleted = asyncio.run(_cleanup(settings))
        print(f"bench: deleted {len(deleted)} topics left by killed scripts", file=sys.stderr)
    shown = [run for run in runs if run.status != "skipped"] or runs  # chosen away
    latest, table = write_results(shown, args.results, started=started, loads=loads)
    print(table.read_text())
    print(f"results: {latest} and {table}", file=sys.stderr)
    return 0 if all_met(shown) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
