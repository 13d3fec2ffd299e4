"""Each scenario does what its name says."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from schemas.messages import InvalidReason
from schemas.reference import ReferenceData
from schemas.validation import ValidationLimits, decode_message
from simulator.bad_input import BAD_CLASSES
from simulator.emission import Emission
from simulator.encode import BatchEncoder
from simulator.model import Simulation
from simulator.scenarios import ScenarioOptions, get_scenario
from tests.simulator.conftest import DAY_S, MONDAY_S, run_for

HOUR = 3600


def _admits(emissions: list[Emission], *, planned: bool | None = None) -> int:
    return sum(
        1
        for e in emissions
        if isinstance(e.payload, dict)
        and e.payload.get("action") == "admit"
        and (planned is None or e.payload["planned"] is planned)
    )


def test_unknown_scenario_is_refused(tiny_reference: ReferenceData) -> None:
    with pytest.raises(ValueError, match="unknown scenario 'mars-landing'"):
        get_scenario("mars-landing")


def test_normal_publishes_only_valid_events(tiny_reference: ReferenceData) -> None:
    emissions = run_for(Simulation(tiny_reference, seed=1, start=MONDAY_S), DAY_S)
    assert all(e.rejected is None for e in emissions)


def test_silent_hospital_stops_sending(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("08", "09"), silent_after_s=2 * HOUR)
    sim = Simulation(
        national_reference, seed=4, scenario="silent-hospital", start=MONDAY_S, options=options
    )
    silent = sim.info.silent_hospital
    assert silent is not None
    assert sim.info.silent_from == MONDAY_S + 2 * HOUR
    emissions = run_for(sim, 8 * HOUR)
    before = [e for e in emissions if e.hospital_id == silent and e.ts < MONDAY_S + 2 * HOUR]
    after = [e for e in emissions if e.hospital_id == silent and e.ts >= MONDAY_S + 2 * HOUR]
    assert len(before) > 100
    assert after == []
    others = {e.hospital_id for e in emissions if e.ts >= MONDAY_S + 2 * HOUR}
    assert len(others) == len(sim.hospitals) - 1


def test_silent_hospital_can_be_chosen(tiny_reference: ReferenceData) -> None:
    options = ScenarioOptions(silent_hospital="SE2321000012-H202", silent_after_s=0)
    sim = Simulation(
        tiny_reference, seed=1, scenario="silent-hospital", start=MONDAY_S, options=options
    )
    assert all(e.hospital_id != "SE2321000012-H202" for e in run_for(sim, 6 * HOUR))


def test_bad_input_holds_every_class(tiny_reference: ReferenceData) -> None:
    sim = Simulation(tiny_reference, seed=6, scenario="bad-input", start=MONDAY_S)
    emissions = run_for(sim, 12 * HOUR)
    reasons = Counter(e.rejected for e in emissions)
    for reason in BAD_CLASSES:
        assert reasons[reason] >= 3, reason
    bad = sum(n for reason, n in reasons.items() if reason is not None)
    assert 0.02 < bad / reasons[None] < 0.04
    assert all(isinstance(e.payload, bytes) for e in emissions if e.rejected == "malformed_json")


def test_bad_input_labels_match_the_validation(tiny_reference: ReferenceData) -> None:
    """Encoded as the pipeline receives them, the bad events are refused by
    ``schemas.validation`` for exactly the labelled reason, and nothing else is;
    duplicates and late events pass it (the stream's core decides those)."""
    sim = Simulation(tiny_reference, seed=8, scenario="bad-input", start=MONDAY_S)
    emissions = run_for(sim, 12 * HOUR)
    limits = ValidationLimits()
    now = datetime.now(UTC)
    by_hospital: dict[str, list[Emission]] = defaultdict(list)
    for e in emissions:
        by_hospital[e.hospital_id].append(e)
    seen: Counter[InvalidReason | None] = Counter()
    for hospital_id, group in by_hospital.items():
        items = [e for e in group if isinstance(e.payload, dict)]
        raws = [e for e in group if isinstance(e.payload, bytes)]
        messages = BatchEncoder(50).encode(group)
        assert len(messages) == -(-len(items) // 50) + len(raws)
        for n, message in enumerate(messages):
            assert message.key == hospital_id.encode()
            result = decode_message(
                message.value, reference=tiny_reference, limits=limits, now=now,
                hospital_id=hospital_id,
            )  # fmt: skip
            if n * 50 >= len(items):  # a raw message of its own
                assert [r.reason for r in result.rejected] == [InvalidReason.MALFORMED_JSON]
                seen[InvalidReason.MALFORMED_JSON] += 1
                continue
            batch = items[n * 50 : (n + 1) * 50]
            refused = {r.index: r.reason for r in result.rejected}
            assert len(result.accepted) + len(refused) == len(batch)
            for index, e in enumerate(batch):
                expected = None if e.rejected in (None, "duplicate", "too_late") else e.rejected
                assert refused.get(index) == expected, (e.rejected, e.payload)
                seen[e.rejected] += 1
    assert set(BAD_CLASSES) <= set(seen)


def test_major_incident_floods_one_region(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("08",), incident_region="08", incident_after_s=2 * HOUR)
    incident = Simulation(
        national_reference, seed=5, scenario="major-incident", start=MONDAY_S, options=options
    )
    normal = Simulation(
        national_reference, seed=5, scenario="normal", start=MONDAY_S, options=options
    )
    assert incident.info.incident_region == "08"
    casualties = incident.info.casualties
    assert casualties >= 40
    window = (MONDAY_S + 2 * HOUR, MONDAY_S + 8 * HOUR)
    with_incident = [e for e in run_for(incident, 8 * HOUR) if window[0] <= e.ts < window[1]]
    without = [e for e in run_for(normal, 8 * HOUR) if window[0] <= e.ts < window[1]]
    assert _admits(with_incident) >= _admits(without) + 0.7 * casualties
    to_icu = sum(
        1
        for e in with_incident
        if isinstance(e.payload, dict)
        and e.payload.get("action") == "admit"
        and national_reference.wards[e.payload["ward_id"]].care_type == "intensive_care"
    )
    assert to_icu > 0
    surge = [
        e.payload
        for e in with_incident
        if isinstance(e.payload, dict)
        and e.payload["type"] == "capacity"
        and e.payload["reason"] == "surge"
        and e.payload["change"] > 0
    ]
    assert len(surge) >= 3
    levels = [
        e.payload["level"]
        for e in with_incident
        if isinstance(e.payload, dict) and e.payload["type"] == "preparedness"
    ]
    assert levels == ["stabslage", "forstarkningslage"]


def test_winter_surge_brings_more_unplanned_admissions(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("12",))
    counts = {
        scenario: _admits(
            run_for(
                Simulation(
                    national_reference, seed=3, scenario=scenario, start=MONDAY_S,
                    options=options, heartbeat_interval_s=900,
                ),
                2 * DAY_S,
            ),
            planned=False,
        )
        for scenario in ("normal", "winter-surge")
    }  # fmt: skip
    assert counts["winter-surge"] > 1.08 * counts["normal"], counts


def test_summer_closes_beds_for_the_season(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("12",))
    available: dict[str, int] = {}
    for scenario in ("normal", "summer-closures"):
        sim = Simulation(
            national_reference, seed=3, scenario=scenario, start=MONDAY_S, options=options,
            heartbeat_interval_s=900,
        )  # fmt: skip
        emissions = run_for(sim, DAY_S)
        latest: dict[str, int] = {}
        for e in emissions:
            if isinstance(e.payload, dict) and e.payload["type"] == "census":
                latest[e.payload["ward_id"]] = e.payload["available_beds"]
        available[scenario] = sum(latest.values())
        if scenario == "summer-closures":
            season = [
                e.payload
                for e in emissions
                if isinstance(e.payload, dict)
                and e.payload["type"] == "capacity"
                and e.payload["reason"] == "season"
            ]
            assert season
            assert all(p["change"] < 0 for p in season)
    assert available["summer-closures"] < 0.92 * available["normal"], available
