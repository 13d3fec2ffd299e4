"""The edges: encoding, pacing, the HTTP sink, time and id helpers, and the command."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas.events import EventBatch, event_adapter
from schemas.personal_data import is_personnummer
from schemas.reference import ReferenceData
from simulator import cli
from simulator.clock import LocalCalendar, parse_duration, parse_time
from simulator.emission import Emission
from simulator.encode import BatchEncoder, Message
from simulator.ids import EventIds, letters_tag, synthetic_personnummer
from simulator.model import Simulation
from simulator.pacing import Pacer
from simulator.publish import HttpSink, MemorySink, PublishError, run
from tests.simulator.conftest import MONDAY_S, run_for

HOUR = 3600


# -- encoding ------------------------------------------------------------------------------


def test_batches_per_hospital_keep_order(tiny_reference: ReferenceData) -> None:
    sim = Simulation(tiny_reference, seed=2, scenario="bad-input", start=MONDAY_S)
    emissions = run_for(sim, 6 * HOUR, step_s=6 * HOUR)
    messages = BatchEncoder(50).encode(emissions)
    got: dict[bytes, list[Any]] = defaultdict(list)
    raw: list[bytes] = []
    for message in messages:
        try:
            batch = EventBatch.model_validate_json(message.value)
        except ValueError:
            raw.append(message.value)
            continue
        assert 1 <= len(batch.events) <= 50
        assert message.events == len(batch.events)
        assert batch.hospital_id.encode() == message.key
        assert batch.source == sim.source_of(batch.hospital_id)
        got[message.key].extend(batch.events)
    want: dict[bytes, list[Any]] = defaultdict(list)
    for e in emissions:
        if isinstance(e.payload, dict):
            want[e.hospital_id.encode()].append(orjson.loads(orjson.dumps(e.payload)))
    assert got == want
    assert len(raw) == sum(1 for e in emissions if isinstance(e.payload, bytes)) > 0
    full = [m for m in messages if m.events == 50]
    assert len(full) > len(messages) / 2


def test_batch_size_one_sends_single_events(tiny_reference: ReferenceData) -> None:
    emissions = run_for(Simulation(tiny_reference, seed=2, start=MONDAY_S), HOUR)
    messages = BatchEncoder(1).encode(emissions)
    assert len(messages) == len(emissions)
    for message, e in zip(messages, emissions, strict=True):
        assert message.key == e.hospital_id.encode()
        event_adapter.validate_json(message.value)


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        BatchEncoder(0)


# -- pacing -------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_speed_maps_wall_time_to_simulated_time() -> None:
    clock = FakeClock()
    pacer = Pacer(start=MONDAY_S, speed=60, monotonic=clock.monotonic, wall=lambda: 2e9)
    assert pacer.target(MONDAY_S, 900) == MONDAY_S
    clock.now += 24 * 60  # 24 minutes of wall time: a simulated day
    assert pacer.target(MONDAY_S, 900) == MONDAY_S + 24 * HOUR
    assert pacer.wall_seconds_until(MONDAY_S + 25 * HOUR) == pytest.approx(60.0)


def test_unpaced_steps_and_never_passes_the_wall_clock() -> None:
    pacer = Pacer(start=MONDAY_S, speed=0, no_future=True, wall=lambda: MONDAY_S + 1000)
    assert pacer.unpaced
    assert pacer.target(MONDAY_S, 900) == MONDAY_S + 900
    assert pacer.target(MONDAY_S + 900, 900) == MONDAY_S + 1000


async def test_rate_limit_sleeps_when_ahead() -> None:
    clock = FakeClock()
    pacer = Pacer(start=0, speed=0, rate=1000, monotonic=clock.monotonic, sleep=clock.sleep)
    await pacer.throttle(500)
    assert clock.slept == [pytest.approx(0.5)]
    clock.now += 2.0  # fell behind: no sleep
    await pacer.throttle(500)
    assert len(clock.slept) == 1


def test_pacer_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="speed"):
        Pacer(start=0, speed=-1)
    with pytest.raises(ValueError, match="rate"):
        Pacer(start=0, speed=1, rate=0)


async def test_run_at_speed_follows_the_clock(tiny_reference: ReferenceData) -> None:
    """At speed 3600 an hour of simulated time takes one (fake) second of ticks."""
    clock = FakeClock()
    sim = Simulation(tiny_reference, seed=1, start=MONDAY_S)
    pacer = Pacer(
        start=MONDAY_S, speed=3600, monotonic=clock.monotonic, wall=lambda: 2e9, sleep=clock.sleep
    )
    sink = MemorySink()
    stats = await run(sim, sink, pacer=pacer, end=MONDAY_S + HOUR, tick_s=0.1)
    assert stats.sim_end == MONDAY_S + HOUR
    assert clock.now - 1000.0 == pytest.approx(1.0, abs=0.11)
    assert stats.events == sink.counts.events > 0


# -- HTTP ----------------------------------------------------------------------------------


def _message(hospital: str, n: int) -> Message:
    return Message(hospital.encode(), orjson.dumps({"n": n, "hospital": hospital}), 1, n)


async def test_http_sink_posts_in_order_per_hospital_with_token() -> None:
    seen: dict[str, list[int]] = defaultdict(list)
    failures = {"A": 1}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.headers["authorization"] == f"Bearer token-{body['hospital']}"
        if failures.get(body["hospital"], 0) and body["n"] == 0:
            failures[body["hospital"]] -= 1
            return httpx.Response(503)
        seen[body["hospital"]].append(body["n"])
        return httpx.Response(202, json={"results": [], "accepted": 1, "rejected": 0})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    sink = HttpSink(
        "http://capmon/api/v1/events",
        tokens={"A": "token-A", "B": "token-B"},
        client=client,
        concurrency=4,
    )
    await sink.start()
    await sink.send([_message(h, n) for n in range(20) for h in ("A", "B")])
    await sink.flush()
    await sink.stop()
    await client.aclose()
    assert seen == {"A": list(range(20)), "B": list(range(20))}
    assert sink.accepted == 40
    assert sink.status_counts == {202: 40}


async def test_http_sink_reports_a_refused_token() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(401)))
    sink = HttpSink("http://capmon/api/v1/events", token="wrong", client=client)
    await sink.start()
    await sink.send([_message("A", 0)])
    with pytest.raises(PublishError, match="401"):
        await sink.flush()
    await client.aclose()


# -- time and ids --------------------------------------------------------------------------


def test_local_time_strings_carry_the_swedish_offset() -> None:
    calendar = LocalCalendar()
    winter = parse_time("2025-01-13T09:30:05+00:00")
    summer = parse_time("2025-07-14T09:30:05+00:00")
    assert calendar.iso(int(winter.timestamp())) == "2025-01-13T10:30:05+01:00"
    assert calendar.iso(int(summer.timestamp())) == "2025-07-14T11:30:05+02:00"
    assert calendar.local_hour(int(summer.timestamp())).hour == 11
    # 30 March 2025: clocks go forward at 02:00, the day has 23 hours.
    day = int(parse_time("2025-03-30T00:00:00+01:00").timestamp())
    assert calendar.next_local_midnight(day) - day == 23 * HOUR
    assert calendar.iso(calendar.local_time(day, 14.5)) == "2025-03-30T14:30:00+02:00"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("6h", 21600), ("7d", 604800), ("1d12h", 129600), ("42", 42)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6x", "h6", "1h 2m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_naive_start_times_are_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        parse_time("2025-01-13T06:00:00")


def test_event_ids_are_uuids_unique_and_reproducible() -> None:
    a, b = EventIds("run-1"), EventIds("run-1")
    first = [a.next() for _ in range(1000)]
    assert first == [b.next() for _ in range(1000)]
    assert len(set(first)) == 1000
    assert EventIds("run-2").next() != first[0]
    import uuid

    assert all(uuid.UUID(x).version == 4 for x in first[:10])


def test_letter_tags_and_synthetic_personnummer() -> None:
    assert [letters_tag(i) for i in (0, 1, 25, 26, 27)] == ["a", "b", "z", "aa", "ab"]
    import random

    rng = random.Random(1)
    for _ in range(100):
        assert is_personnummer(synthetic_personnummer(rng))
        assert is_personnummer(synthetic_personnummer(rng, with_century=False))


# -- the command ---------------------------------------------------------------------------


def test_start_times() -> None:
    now = 2_000_000_000.0
    assert cli.resolve_start("now", speed=60, duration=None, now=now) == 2_000_000_000
    assert cli.resolve_start("auto", speed=0, duration=3 * HOUR, now=now) == now - 3 * HOUR
    # 6 h at 60x take 6 minutes of wall time: start so that the run ends at about now.
    assert cli.resolve_start("auto", speed=60, duration=6 * HOUR, now=now) == int(
        now - 6 * HOUR * (1 - 1 / 60)
    )
    assert cli.resolve_start("auto", speed=1, duration=None, now=now) == now
    explicit = cli.resolve_start("2025-01-13T06:00:00+01:00", speed=60, duration=None, now=now)
    assert explicit == int(parse_time("2025-01-13T05:00:00Z").timestamp())


def test_command_writes_messages_and_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, truth = tmp_path / "messages.jsonl", tmp_path / "truth.json"
    code = cli.main(
        [
            "--target", "file", "--out", str(out), "--truth-out", str(truth),
            "--regions", "09", "--duration", "2h", "--speed", "0", "--burn-in", "1d",
            "--start", "2025-01-13T06:00:00+01:00", "--truth-every", "1h",
            "--scenario", "bad-input", "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    lines = out.read_bytes().splitlines()
    assert len(lines) == summary["messages"]
    assert summary["bad_events"] > 0
    document = json.loads(truth.read_text())
    assert [s["at"] for s in document["snapshots"]] == [
        "2025-01-13T06:00:00+00:00",
        "2025-01-13T07:00:00+00:00",
    ]
    assert document["meta"]["scenario"] == "bad-input"
    assert document["meta"]["events_published"] == summary["events"]
    assert set(document["snapshots"][-1]["rollups"]) >= {"nation:all", "region:09:all"}


def test_command_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--speed", "-1"]) == 2
    assert cli.main(["--batch-size", "0"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["--scenario", "mars-landing"])


def test_emission_knows_its_ward() -> None:
    assert Emission(0, "h", "s", {"ward_id": "w"}).ward_id == "w"
    assert Emission(0, "h", "s", b"{").ward_id is None
