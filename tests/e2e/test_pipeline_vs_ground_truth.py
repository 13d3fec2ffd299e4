"""End to end: simulator -> Kafka -> worker -> API, checked against the simulator's ground truth.

A few hours of a scenario are simulated as fast as possible through the real broker and the
real worker; then every ward state and every region and nation rollup the API serves must
equal the ground truth the simulator wrote: counts exactly, time-weighted occupancy to within
0.1 percentage points.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from capmon.settings import REPO_ROOT, Settings
from schemas.reference import load_reference
from streams.topics import ensure_topics
from tests.fixtures.processes import (
    CapmonProcess,
    issue_token,
    settings_env,
    start_api,
    start_worker,
)
from tests.fixtures.waiting import wait_for_async

pytestmark = pytest.mark.integration

TIMEOUT = 240.0
WINDOWS = ("occupancy_1h", "occupancy_24h", "occupancy_7d")


def _simulate(settings: Settings, truth: Path, scenario: str) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "capmon.cli",
            "simulate",
            "--scenario",
            scenario,
            "--speed",
            "0",
            "--duration",
            "3h",
            "--seed",
            "11",
            "--truth-out",
            str(truth),
        ],
        cwd=REPO_ROOT,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stats: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return stats


def _counts_and_windows(message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    counts = dict(message["counts"])
    windows = {w: message["measures"][w]["occupancy"] for w in WINDOWS}
    return counts, windows


def _mismatches(expected: dict[str, Any], got: dict[str, Any] | None, what: str) -> list[str]:
    if got is None:
        return [f"{what}: missing"]
    want_counts, want_windows = _counts_and_windows(expected)
    got_counts, got_windows = _counts_and_windows(got)
    problems = []
    if want_counts != got_counts:
        diff = {k: (v, got_counts.get(k)) for k, v in want_counts.items() if got_counts.get(k) != v}
        problems.append(f"{what}: counts differ (want, got) {diff}")
    for window, want in want_windows.items():
        have = got_windows[window]
        if (want is None) != (have is None) or (
            want is not None and have is not None and abs(want - have) * 100 > 0.1
        ):
            problems.append(f"{what}: {window} want {want} got {have}")
    return problems


@pytest.mark.parametrize("scenario", ["bad-input"])
async def test_simulated_hours_match_ground_truth(
    settings: Settings, processes: list[CapmonProcess], tmp_path: Path, scenario: str
) -> None:
    await ensure_topics(settings)
    worker = start_worker(settings, processes)
    api, base = start_api(settings, processes)
    token = issue_token(settings, "national")
    truth_path = tmp_path / "truth.json"
    stats = _simulate(settings, truth_path, scenario)
    assert stats["events"] > 10_000
    truth = json.loads(truth_path.read_text())
    final = truth["snapshots"][-1]
    reference = load_reference()
    headers = {"Authorization": f"Bearer {token}"}
    problems: list[str] = []

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

        async def pipeline_matches_truth() -> bool:
            problems.clear()
            wards: dict[str, dict[str, Any]] = {}
            for hospital_id in reference.hospitals:
                response = await client.get(f"/api/v1/state/hospital:{hospital_id}")
                if response.status_code != 200:
                    problems.append(f"hospital {hospital_id}: HTTP {response.status_code}")
                    return False
                for child in response.json()["children"]:
                    wards[child["ward_id"]] = child
            for ward_id, expected in final["wards"].items():
                problems.extend(_mismatches(expected, wards.get(ward_id), f"ward {ward_id}"))
            scopes = ["nation", *(f"region:{code}" for code in reference.regions)]
            for scope in scopes:
                response = await client.get(f"/api/v1/state/{scope}")
                rollups = {r["care_type"]: r for r in response.json()["rollups"]}
                for key, expected in final["rollups"].items():
                    scope_id, _, care_type = key.rpartition(":")
                    if scope_id == scope:
                        problems.extend(
                            _mismatches(expected, rollups.get(care_type), f"rollup {key}")
                        )
            return not problems

        try:
            await wait_for_async(
                pipeline_matches_truth, timeout=TIMEOUT, what="the API to serve the ground truth"
            )
        except AssertionError:
            print("\n".join(problems[:40]))
            print(worker.log_tail(30))
            print(api.log_tail(30))
            raise
    assert len(final["wards"]) > 1000  # every reference ward took part
    rejected = truth["meta"]["rejected_expected"]
    assert sum(rejected.values()) > 0  # the scenario mixed bad input in
