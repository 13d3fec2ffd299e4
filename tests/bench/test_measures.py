"""The pure parts of the measurements: latency matching, flush accounting, profiles,
the scaled reference data."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import orjson
import pytest

from bench.e2e_latency import kafka_latencies, ws_latencies
from bench.profiling import summarize
from bench.worker_memory import write_scaled_reference
from bench.worker_throughput import flush_accounting
from schemas.reference import load_reference


def test_an_event_is_timed_by_the_first_update_that_contains_it() -> None:
    sent = [("w1", 100, 10.0), ("w1", 101, 10.1), ("w1", 102, 10.2), ("w2", 100, 10.0)]
    # w1: one coalesced update as of 101, then one as of 102; w2 never updated
    received = [("w1", 101, 10.5), ("w1", 102, 10.6)]
    latencies, missing = ws_latencies(sent, received)
    assert latencies == pytest.approx([500.0, 400.0, 400.0])
    assert missing == 1


def test_an_older_update_after_a_newer_one_does_not_count() -> None:
    sent = [("w1", 105, 1.0)]
    received = [("w1", 106, 1.2), ("w1", 104, 1.5)]
    latencies, missing = ws_latencies(sent, received)
    assert latencies == pytest.approx([200.0])
    assert missing == 0


def test_kafka_latency_counts_every_event_of_a_message() -> None:
    sent = [("w1", 100, 1.0), ("w2", 100, 1.0), ("w3", 100, 2.0)]
    consumed = [("w1", 100, 1.01, 2), ("w3", 100, 2.02, 1)]
    assert kafka_latencies(sent, consumed) == pytest.approx([10.0, 10.0, 20.0])


class Record(NamedTuple):
    timestamp: int
    key: bytes
    value: bytes


def state(ward: str, version: int, ts: int) -> Record:
    return Record(ts, ward.encode(), orjson.dumps({"version": version}))


def test_flush_accounting_separates_the_first_round() -> None:
    records = [
        state("a", 3, 1000),
        state("b", 1, 1005),  # same flush
        state("a", 6, 1300),
        state("b", 4, 1300),
        state("c", 2, 1310),
    ]
    accounting = flush_accounting(records)
    assert accounting["first_output"] == 1.0
    assert accounting["first_share"] == pytest.approx(4 / 12)
    assert accounting["wards_with_state"] == 3


def test_profile_summary(tmp_path: Path) -> None:
    raw = tmp_path / "p.raw"
    raw.write_text(
        "main (capmon/cli.py:1);process_partition (streams/processing.py:276);"
        "decode_message (schemas/validation.py:177) 30\n"
        "main (capmon/cli.py:1);process_partition (streams/processing.py:276);"
        "apply_in_place (streams/core/ward_state.py:722) 50\n"
        "main (capmon/cli.py:1);_run_once (asyncio/base_events.py:1922) 20\n"
    )
    summary = summarize(raw)
    assert summary["samples"] == 100
    assert summary["self_top_pct"]["apply_in_place (streams/core/ward_state.py)"] == 50.0
    assert summary["self_by_package_pct"] == {"streams": 50.0, "schemas": 30.0, "asyncio": 20.0}
    inclusive = summary["inclusive_pct"]
    assert inclusive["capmon processing (streams.processing)"] == 80.0
    assert inclusive["validation (schemas.validation.decode_message)"] == 30.0


def test_profile_summary_without_a_file(tmp_path: Path) -> None:
    assert "error" in summarize(tmp_path / "none.raw")


def test_scaled_reference(tmp_path: Path) -> None:
    base = load_reference()
    scaled = load_reference(write_scaled_reference(tmp_path, 3))
    assert len(scaled.wards) == 3 * len(base.wards)
    assert scaled.hospitals == base.hospitals
    some = next(iter(base.wards))
    assert scaled.wards[f"{some}X2"].hospital_id == base.wards[some].hospital_id
