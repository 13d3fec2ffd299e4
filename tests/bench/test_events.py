"""The benchmarks' generated events are valid and accepted by the whole pipeline."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import orjson
import pytest

from bench._events import event_id, generate, hospital_events, iso, to_messages
from bench._inprocess import run_in_process
from capmon.settings import Settings
from schemas.reference import ReferenceData, load_reference
from schemas.validation import ValidationLimits, decode_message

END = int(datetime(2025, 1, 13, 12, 0, tzinfo=UTC).timestamp())
NOW = datetime(2025, 1, 13, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return load_reference()


@pytest.mark.parametrize("ts", [0, 86_399, 86_400, END, 4_102_444_799])
def test_iso_matches_strftime(ts: int) -> None:
    assert iso(ts) == datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_event_ids_are_distinct_uuids() -> None:
    rng = random.Random(3)
    ids = [event_id(rng) for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(str(uuid.UUID(i)) == i for i in ids)


def test_every_ward_gets_events_in_time_order(reference: ReferenceData) -> None:
    per_hospital = hospital_events(reference, 3 * len(reference.wards), end=END)
    times: dict[str, list[int]] = defaultdict(list)
    for events in per_hospital.values():
        for at, event in events:
            assert event["occurred_at"] == iso(at)
            times[str(event["ward_id"])].append(at)
    assert set(times) == set(reference.wards)
    for ward_times in times.values():
        assert ward_times == sorted(ward_times)
        assert len(set(ward_times)) == len(ward_times)
        assert ward_times[-1] == END


@pytest.mark.parametrize("per_message", [1, 10, 50])
def test_messages_are_valid_and_keyed_by_hospital(
    reference: ReferenceData, per_message: int
) -> None:
    messages = generate(reference, 4000, per_message, end=END)
    assert sum(m.events for m in messages) == 4000
    limits = ValidationLimits()
    for message in messages:
        decoded = decode_message(
            message.value,
            reference=reference,
            limits=limits,
            now=NOW,
            hospital_id=message.key.decode(),
        )
        assert decoded.rejected == []
        assert len(decoded.accepted) == message.events
        value = orjson.loads(message.value)
        assert ("events" in value) == (per_message > 1)


def test_messages_are_interleaved_by_time(reference: ReferenceData) -> None:
    messages = to_messages(hospital_events(reference, 2000, end=END), 10)
    firsts = [m.first_at for m in messages]
    assert firsts == sorted(firsts)


def test_the_pipeline_accepts_every_event(reference: ReferenceData) -> None:
    """No event is too late, a duplicate or implausible for the ward state either."""
    messages = generate(reference, 5000, 50, end=int(datetime.now(UTC).timestamp()) - 60)
    run = run_in_process(Settings(topic_prefix="t."), reference, messages)
    assert run.invalid_reasons == {}
    assert run.events == 5000
    assert run.outputs["t.capmon.ward-state"] > 0
    assert run.outputs["t.capmon.rollups"] > 0
