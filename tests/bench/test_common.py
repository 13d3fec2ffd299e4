"""The result line, percentiles and the environment of capmon subprocesses."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import SecretStr

from bench import common
from bench.common import capmon_env, percentile, result
from capmon.settings import Settings

MACHINE = {"cores": 2, "python": "3.11", "kafka": "4.4.0", "postgres": "18", "load_1m": 0.5}


@pytest.fixture(autouse=True)
def _no_machine_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    # Machine facts ask the stack for versions: not in a unit test.
    monkeypatch.setattr(common, "machine", lambda settings=None: dict(MACHINE))


def test_result_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    line = result("fig", 150_000.0, "events/s", "bare", 1_000_000.0, {"events": 10})
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == line
    assert line == {
        "name": "fig",
        "value": 150_000.0,
        "unit": "events/s",
        "baseline": "bare",
        "baseline_value": 1_000_000.0,
        "ratio": 0.15,
        "machine": MACHINE,
        "extra": {"events": 10},
    }


@pytest.mark.parametrize(
    ("value", "baseline"), [(None, 10.0), (5.0, None), (5.0, 0.0), (float("nan"), 2.0)]
)
def test_missing_values_give_no_ratio(
    value: float | None, baseline: float | None, capsys: pytest.CaptureFixture[str]
) -> None:
    line = result("fig", value, "ms", "base", baseline)
    assert line["ratio"] is None
    assert json.loads(capsys.readouterr().out)["ratio"] is None  # strict JSON, never NaN


def test_small_values_keep_four_significant_digits(capsys: pytest.CaptureFixture[str]) -> None:
    assert result("fig", 0.0123456, "s", None, None)["value"] == 0.01235


@pytest.mark.parametrize(
    ("p", "expected"), [(0, 1.0), (50, 50.0), (95, 95.0), (99, 99.0), (100, 100.0)]
)
def test_percentile_nearest_rank(p: float, expected: float) -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, p) == expected


def test_percentile_of_nothing() -> None:
    assert percentile([], 99) is None


def test_capmon_env_carries_the_settings_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPMON_TOPIC_PREFIX", "stale.")
    settings = Settings(topic_prefix="bench-1.", database_url=SecretStr("postgresql://x/y"))
    env = capmon_env(settings, table_store="memory")
    assert env["CAPMON_TOPIC_PREFIX"] == "bench-1."
    assert env["CAPMON_DATABASE_URL"] == "postgresql://x/y"
    assert env["CAPMON_TABLE_STORE"] == "memory"
    assert os.environ["CAPMON_TOPIC_PREFIX"] == "stale."  # the parent's env is untouched


def test_bench_settings_have_a_fresh_bench_prefix() -> None:
    a, b = common.bench_settings(), common.bench_settings()
    assert a.topic_prefix.startswith(common.BENCH_PREFIX)
    assert a.topic_prefix != b.topic_prefix
