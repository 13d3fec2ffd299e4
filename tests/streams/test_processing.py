"""The processing rounds without a broker: batching and per-ward grouping change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from capmon.settings import Settings
from schemas.reference import load_reference
from schemas.targets import load_targets
from streams.round_stats import RoundStats
from tests.streams.pipeline import comparable, event_stream, run_in_memory

NOW = datetime(2025, 1, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("batch_size", [7, 50])
def test_a_batch_gives_the_states_of_its_events_sent_one_by_one(batch_size: int) -> None:
    # Batches of the fast path are applied ward by ward (each ward's events in one go);
    # one event per message takes the event-by-event path.
    reference = load_reference()
    hospitals = [h.hospital_id for h in list(reference.hospitals.values())[:3]]
    start = NOW - timedelta(hours=2)
    batched = event_stream(
        reference, hospitals, start=start, minutes=90, seed=3, batch_size=batch_size
    )
    single = event_stream(reference, hospitals, start=start, minutes=90, seed=3, batch_size=1)
    assert sum(len(orjson.loads(v)["events"]) for _, v in batched) == len(single)
    settings = Settings(topic_prefix="t.")
    targets = load_targets()
    grouped = run_in_memory(settings, reference, targets, batched, now=NOW)
    one_by_one = run_in_memory(settings, reference, targets, single, now=NOW)
    assert len(grouped.ward_states) > 20
    assert {k: comparable(v) for k, v in grouped.ward_states.items()} == {
        k: comparable(v) for k, v in one_by_one.ward_states.items()
    }
    assert {k: comparable(v) for k, v in grouped.rollups.items()} == {
        k: comparable(v) for k, v in one_by_one.rollups.items()
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_round_stats_report_shares_of_the_elapsed_time_and_reset() -> None:
    clock = FakeClock()
    stats = RoundStats("wards", clock=clock)
    stats.round(300, 0.5)
    stats.round(100, 1.5)
    stats.add("process", 0.5)
    stats.add("emit", 0.25)
    clock.now += 2.0
    assert stats.summary() == (
        "wards: 200 msgs/s in 1.0 rounds/s (200/round); busy 38% (process 25%, emit 12%); "
        "input age 1,000 ms mean, 1,500 ms max"
    )
    stats.reset()
    clock.now += 1.0
    assert stats.summary() == (
        "wards: 0 msgs/s in 0.0 rounds/s (0/round); busy 0% (idle); input age 0 ms mean, 0 ms max"
    )
