"""Every benchmark of bench/ runs end to end in its tiny mode and writes well-formed results.

Slow (a few minutes: several workers and an API start): the figures of a tiny run mean
nothing, only that each script measures something and the runner reports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from capmon.settings import REPO_ROOT
from tests.fixtures.stack import TEST_DATA_DIR, StackEndpoints

EXPECTED = {
    "worker_throughput_50_per_message",
    "worker_throughput_1_per_message",
    "decode_stream_50_per_message",
    "decode_stream_1_per_message",
    "e2e_latency_100_eps",
    "e2e_latency_1000_eps",
    "worker_rss_full_reference",
    "worker_restart_memory",
}


@pytest.mark.integration
@pytest.mark.timeout(1500)
def test_quick_bench_run(stack: StackEndpoints, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPMON_")}
    env |= {
        "CAPMON_KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "CAPMON_DATABASE_URL": stack.admin_database_url,
        "CAPMON_DATA_DIR": str(TEST_DATA_DIR),  # where the broker's jars say its version
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.runner", "--quick", "--no-stack", "--results", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    # 1: tiny runs miss the targets, which is fine here; 2 would be a usage error
    assert done.returncode in (0, 1), done.stderr[-3000:]
    lines = [json.loads(raw) for raw in (tmp_path / "latest.jsonl").read_text().splitlines()]
    by_name = {line["name"]: line for line in lines}
    assert set(by_name) == EXPECTED, done.stderr[-3000:]
    for line in lines:
        assert isinstance(line["value"], int | float), line
        assert line["machine"]["cores"] >= 1
        assert line["machine"]["kafka"]
        assert isinstance(line["extra"], dict)
    table = (tmp_path / "latest.md").read_text()
    assert all(f"`{name}`" in table for name in EXPECTED)
