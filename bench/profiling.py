"""py-spy around a benchmark: sample a process while it works, then say where the time went.

``Profiler`` runs ``py-spy record --format raw`` (collapsed stacks: one line per distinct
stack, ``frame;frame;...;leaf count``) on a pid; ``summarize`` turns that file into the
shares a report needs: the leaf functions with the most samples (self time) and the share
of stacks inside a few named phases (inclusive time).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Inclusive phases of the worker, by a frame that marks them (substring of the frame text).
WORKER_PHASES: Mapping[str, str] = {
    "capmon processing (streams.processing)": "process_partition (streams/processing.py",
    "validation (schemas.validation.decode_message)": "decode_message (schemas/validation.py",
    "ward state (streams.core apply_in_place)": "apply_in_place (streams/core/ward_state.py",
    "emit ward states/rollups (_emit)": "_emit (streams/processing.py",
    "output flush (OutputBuffer.flush)": "flush (streams/output_buffer.py",
    "faust stream/take_events": "take_events (faust/streams.py",
    "aiokafka fetcher": "aiokafka/consumer/fetcher.py",
    "aiokafka producer/sender": "aiokafka/producer/",
}


class Profiler:
    """``with Profiler(pid, path):`` samples ``pid`` until the block ends (SIGINT makes
    py-spy write its file). Does nothing (``available`` False) without py-spy."""

    def __init__(self, pid: int, output: Path, *, rate: int = 100) -> None:
        self.pid = pid
        self.output = output
        self.rate = rate
        self.proc: subprocess.Popen[bytes] | None = None
        # py-spy comes with the dev extra, beside this interpreter (which need not be on PATH)
        beside = Path(sys.executable).parent / "py-spy"
        self.executable = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
        self.available = self.executable is not None

    def __enter__(self) -> Profiler:
        if self.executable is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self.proc = subprocess.Popen(
                [
                    self.executable,
                    "record",
                    "--pid",
                    str(self.pid),
                    "--format",
                    "raw",
                    "--rate",
                    str(self.rate),
                    "--nonblocking",
                    *os.environ.get("BENCH_PYSPY_ARGS", "").split(),
                    "--output",
                    str(self.output),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _leaf(stack: str) -> str:
    return stack.rsplit(";", 1)[-1].strip()


def summarize(
    path: Path, *, phases: Mapping[str, str] = WORKER_PHASES, top: int = 15
) -> dict[str, Any]:
    """Self-time shares of the top leaf frames and inclusive shares of ``phases``."""
    if not path.exists():
        return {"error": f"no profile at {path}"}
    leaves: Counter[str] = Counter()
    phase_samples: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf = _leaf(stack)
        # "function (file.py:line)": self time per function, line numbers merged
        name = leaf.split(":", 1)[0] + ")" if "(" in leaf else leaf
        leaves[name] += count
        packages[_package(leaf)] += count
        for phase, marker in phases.items():
            if marker in stack:
                phase_samples[phase] += count
    if total == 0:
        return {"error": "no samples"}

    def share(n: int) -> float:
        return round(100 * n / total, 1)

    return {
        "samples": total,
        "self_top_pct": {name: share(n) for name, n in leaves.most_common(top)},
        "self_by_package_pct": {name: share(n) for name, n in packages.most_common(12)},
        "inclusive_pct": {name: share(phase_samples[name]) for name in phases},
    }


def _package(frame: str) -> str:
    """The top-level package of a frame's file (``faust``, ``streams``, ``asyncio`` ...)."""
    if "(" not in frame:
        return frame
    location = frame.rsplit("(", 1)[1].rstrip(")")
    file = location.split(":", 1)[0]
    parts = Path(file).parts
    if not parts:
        return "?"
    return parts[0] if len(parts) > 1 else Path(file).stem
