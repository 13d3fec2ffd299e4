"""The runner's parsing, targets and results files (no benchmark runs here)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.runner import (
    SCRIPTS,
    Script,
    ScriptRun,
    all_met,
    parse_lines,
    render_markdown,
    run_script,
    target_of,
    write_results,
)

STARTED = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def line(
    name: str, value: float | None, ratio: float | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "unit": "events/s",
        "baseline": "bare" if ratio is not None else None,
        "baseline_value": None if ratio is None or value is None else value / ratio,
        "ratio": ratio,
        "machine": {
            "cores": 2,
            "cpu": "EPYC",
            "python": "3.11.7",
            "kafka": "4.4.0",
            "postgres": "18.1",
        },
        "extra": extra,
    }


def test_parse_lines_keeps_only_result_objects() -> None:
    text = "\n".join(
        ["progress", json.dumps(line("a", 1.0)), "{not json", json.dumps({"x": 1}), "[1]"]
    )
    assert [found["name"] for found in parse_lines(text)] == ["a"]


@pytest.mark.parametrize(
    ("figure", "met"),
    [
        (line("worker_throughput_50_per_message", 120_000, 0.12), True),
        (line("worker_throughput_50_per_message", 120_000, 0.08), False),
        (line("worker_throughput_50_per_message", 90_000, 0.5), False),
        (line("worker_throughput_50_per_message", None), None),
        (line("worker_throughput_1_per_message", 4_000), True),
        (line("worker_throughput_1_per_message", 3_999), False),
        (line("e2e_latency_1000_eps", 249.0), True),
        (line("e2e_latency_1000_eps", 250.0), False),
        (line("sink_throughput", 10_000, 0.6), True),
        (line("history_query_30d_region_hourly_p95", 120.0), False),
        (line("api_free_capacity_search_p99", 12.0), True),
        (line("api_ws_fanout_delivery_p99", 300.0, server_peak_rss_mb=250.0), True),
        (line("api_ws_fanout_delivery_p99", 300.0, server_peak_rss_mb=350.0), False),
    ],
)
def test_targets(figure: dict[str, Any], met: bool | None) -> None:
    target = target_of(figure["name"])
    assert target is not None
    assert target.met(figure) is met


def test_figures_without_a_target() -> None:
    assert target_of("worker_throughput_10_per_message") is None
    assert target_of("worker_rss_full_reference") is None


def runs() -> list[ScriptRun]:
    ok = ScriptRun(SCRIPTS[0], [line("worker_throughput_50_per_message", 150_000, 0.15)], "ok")
    missed = ScriptRun(SCRIPTS[0], [line("worker_throughput_1_per_message", 1_000)], "ok")
    broken = ScriptRun(Script("sink_throughput", 10), [], "timed out after 10s")
    return [ok, missed, broken]


def test_markdown_table(tmp_path: Path) -> None:
    text = render_markdown(runs(), started=STARTED, loads=[0.5, 2.0])
    assert "2025-03-03 12:00 UTC" in text
    assert "Kafka 4.4.0" in text
    assert "PostgreSQL 18.1" in text
    rows = [row for row in text.splitlines() if row.startswith("| `")]
    assert len(rows) == 3
    assert rows[0].endswith("| yes |")
    assert "150,000 events/s" in rows[0]
    assert "1,000,000 (bare)" in rows[0]
    assert rows[1].endswith("| **no** |")
    assert "not measured: timed out after 10s" in rows[2]


def test_write_results(tmp_path: Path) -> None:
    latest, table = write_results(runs(), tmp_path, started=STARTED, loads=[1.0])
    assert [json.loads(raw)["name"] for raw in latest.read_text().splitlines()] == [
        "worker_throughput_50_per_message",
        "worker_throughput_1_per_message",
    ]
    assert (tmp_path / "2025-03-03T120000Z.jsonl").read_text() == latest.read_text()
    assert table.name == "latest.md"


def test_all_met_needs_every_script_and_target() -> None:
    assert not all_met(runs())
    assert all_met(runs()[:1])


def test_a_missing_script_is_reported(tmp_path: Path) -> None:
    run = run_script(Script("no_such_bench", 5), timeout_s=5, args=(), log_dir=tmp_path)
    assert run.status == "missing"
    assert run.lines == []
