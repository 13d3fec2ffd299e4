"""The generator core: deterministic, contract-valid, and coherent as a hospital feed."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

import orjson
import pytest

from schemas.events import EventBatch, event_adapter
from schemas.reference import ReferenceData
from simulator.clock import LocalCalendar
from simulator.emission import Emission
from simulator.model import Simulation
from simulator.recount import Recount
from simulator.scenarios import SCENARIOS, ScenarioOptions
from tests.simulator.conftest import DAY_S, MONDAY_S, run_for


def _wire(emissions: list[Emission]) -> list[bytes]:
    return [
        e.payload if isinstance(e.payload, bytes) else orjson.dumps(e.payload) for e in emissions
    ]


def test_same_seed_gives_identical_events(tiny_reference: ReferenceData) -> None:
    a = Simulation(tiny_reference, seed=5, scenario="bad-input", start=MONDAY_S)
    b = Simulation(tiny_reference, seed=5, scenario="bad-input", start=MONDAY_S)
    first = run_for(a, DAY_S, step_s=3600)
    # Sliced differently: the model must not depend on how often it is asked.
    second = run_for(b, DAY_S, step_s=977)
    assert len(first) > 1000
    assert _wire(first) == _wire(second)
    assert [e.rejected for e in first] == [e.rejected for e in second]


def test_same_seed_identical_for_a_region(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("09",))
    runs = [
        run_for(
            Simulation(national_reference, seed=3, start=MONDAY_S, options=options, burn_in_days=3),
            6 * 3600,
        )
        for _ in range(2)
    ]
    assert _wire(runs[0]) == _wire(runs[1])


def test_another_seed_gives_other_events(tiny_reference: ReferenceData) -> None:
    a = run_for(Simulation(tiny_reference, seed=1, start=MONDAY_S), 6 * 3600)
    b = run_for(Simulation(tiny_reference, seed=2, start=MONDAY_S), 6 * 3600)
    assert _wire(a) != _wire(b)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_valid_event_validates_against_the_contract(
    tiny_reference: ReferenceData, scenario: str
) -> None:
    options = ScenarioOptions(incident_after_s=600, silent_after_s=6 * 3600)
    sim = Simulation(tiny_reference, seed=9, scenario=scenario, start=MONDAY_S, options=options)
    emissions = run_for(sim, DAY_S)
    kinds: Counter[str] = Counter()
    for e in emissions:
        if e.rejected is not None:
            continue
        assert isinstance(e.payload, dict)
        event = event_adapter.validate_python(e.payload)
        assert event_adapter.validate_json(orjson.dumps(e.payload)) == event
        assert int(event.occurred_at.timestamp()) == e.ts
        assert event.source == sim.source_of(e.hospital_id)
        assert tiny_reference.wards[event.ward_id].hospital_id == e.hospital_id
        kinds[e.payload["type"] + ":" + e.payload.get("action", "")] += 1
    assert {"census:", "heartbeat:", "movement:admit", "movement:discharge"} <= set(kinds)
    if scenario == "major-incident":
        assert kinds["preparedness:"] >= 2


def test_events_come_in_time_order(tiny_reference: ReferenceData) -> None:
    emissions = run_for(Simulation(tiny_reference, seed=4, start=MONDAY_S), DAY_S)
    times = [e.ts for e in emissions]
    assert times == sorted(times)
    assert times[0] == MONDAY_S  # the opening census of every ward


def test_census_every_15_minutes_and_heartbeats_between(tiny_reference: ReferenceData) -> None:
    emissions = run_for(Simulation(tiny_reference, seed=4, start=MONDAY_S), DAY_S)
    census: dict[str, list[int]] = defaultdict(list)
    reports: dict[str, list[int]] = defaultdict(list)
    for e in emissions:
        assert isinstance(e.payload, dict)
        reports[e.payload["ward_id"]].append(e.ts)
        if e.payload["type"] == "census":
            census[e.payload["ward_id"]].append(e.ts)
    assert set(census) == set(tiny_reference.wards)
    for ward_id, times in census.items():
        gaps = {b - a for a, b in itertools.pairwise(times[1:])}  # [0] opens the run
        assert gaps == {900}, ward_id
        assert 96 <= len(times) <= 97
        # A heartbeat fills each 5-minute slot that had no other event of the ward.
        silences = [b - a for a, b in itertools.pairwise(reports[ward_id])]
        assert max(silences) < 600, ward_id


def test_census_agrees_with_the_movement_based_count(national_reference: ReferenceData) -> None:
    """Every census equals what the movements since the previous census add up to."""
    options = ScenarioOptions(regions=("12", "23"))
    sim = Simulation(national_reference, seed=21, start=MONDAY_S, options=options)
    recount = Recount(
        {w: ward.typical_available_beds for w, ward in national_reference.wards.items()},
        lateness_s=6 * 3600,
    )
    checked = 0
    for e in run_for(sim, DAY_S):
        assert isinstance(e.payload, dict)
        p = e.payload
        ward = recount.wards.get(p["ward_id"])
        if p["type"] == "census" and ward is not None and ward.last_census is not None:
            assert (ward.occupied, ward.available, ward.outlying) == (
                p["occupied"],
                p["available_beds"],
                p["outlying_hosted"],
            ), p
            assert p["overcrowded"] == max(0, p["occupied"] - p["available_beds"])
            checked += 1
        assert recount.apply(p) is None
    assert checked > 10_000


def test_transfers_are_published_once_per_side(tiny_reference: ReferenceData) -> None:
    emissions = run_for(Simulation(tiny_reference, seed=8, start=MONDAY_S), 3 * DAY_S)
    sides: dict[str, list[dict[str, object]]] = defaultdict(list)
    for e in emissions:
        assert isinstance(e.payload, dict)
        if e.payload.get("action") == "transfer":
            sides[e.payload["event_id"]].append(e.payload)
    assert len(sides) > 10
    for event_id, pair in sides.items():
        assert len(pair) == 2, event_id
        a, b = pair
        assert {a["ward_id"], b["ward_id"]} == {a["from_ward_id"], a["to_ward_id"]}
        assert {k: v for k, v in a.items() if k != "ward_id"} == {
            k: v for k, v in b.items() if k != "ward_id"
        }
        from_ward = tiny_reference.wards[str(a["from_ward_id"])]
        to_ward = tiny_reference.wards[str(a["to_ward_id"])]
        assert from_ward.hospital_id == to_ward.hospital_id


def test_outlying_placements_come_from_full_wards(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("12",))
    sim = Simulation(national_reference, seed=2, start=MONDAY_S, options=options)
    recount = Recount(
        {w: ward.typical_available_beds for w, ward in national_reference.wards.items()},
        lateness_s=6 * 3600,
    )
    placements = 0
    for e in run_for(sim, DAY_S):
        assert isinstance(e.payload, dict)
        p = e.payload
        responsible = p.get("responsible_ward_id")
        if (
            p.get("action") == "admit"
            and responsible not in (None, p["ward_id"])
            and not p["medically_motivated"]
        ):
            home = recount.wards[responsible]
            assert home.occupied >= home.available, "placed elsewhere while beds were free"
            assert national_reference.hospital_of(responsible).hospital_id == e.hospital_id
            placements += 1
        recount.apply(p)
    assert placements > 5


def test_cancels_name_an_earlier_movement_of_the_same_ward(tiny_reference: ReferenceData) -> None:
    emissions = run_for(Simulation(tiny_reference, seed=12, start=MONDAY_S), 7 * DAY_S, 6 * 3600)
    seen: dict[tuple[str, str], dict[str, object]] = {}
    cancels = 0
    for e in emissions:
        assert isinstance(e.payload, dict)
        p = e.payload
        if p["type"] != "movement":
            continue
        if p["action"] == "cancel":
            target = seen[(p["ward_id"], p["cancels_event_id"])]
            assert target["action"] in ("admit", "discharge")
            assert target["encounter_ref"] == p["encounter_ref"]
            cancels += 1
        seen[(p["ward_id"], p["event_id"])] = p
    assert cancels > 0


def test_night_closures_and_reopenings_for_staffing(tiny_reference: ReferenceData) -> None:
    calendar = LocalCalendar()
    emissions = run_for(Simulation(tiny_reference, seed=3, start=MONDAY_S), 3 * DAY_S)
    changes = [
        (calendar.local_hour(e.ts).hour, e.payload["change"])
        for e in emissions
        if isinstance(e.payload, dict) and e.payload["type"] == "capacity"
        and e.payload["reason"] == "staffing"
    ]  # fmt: skip
    assert changes
    assert all(hour in (21, 22) for hour, change in changes if change < 0)
    assert all(hour in (7, 8) for hour, change in changes if change > 0)


def test_census_stays_plausible_under_an_incident(national_reference: ReferenceData) -> None:
    """The validation refuses occupied > 1.5 x available + 5: the model never gets there."""
    options = ScenarioOptions(regions=("09",), incident_region="09", incident_after_s=1800)
    sim = Simulation(
        national_reference, seed=1, scenario="major-incident", start=MONDAY_S, options=options
    )
    censuses = [
        e.payload
        for e in run_for(sim, DAY_S)
        if isinstance(e.payload, dict) and e.payload["type"] == "census"
    ]
    assert censuses
    for p in censuses:
        assert p["occupied"] <= 1.5 * p["available_beds"] + 5, p
        assert p["available_beds"] <= 1.5 * p["physical_beds"] + 2, p


def test_batch_envelope_of_a_hospital_is_a_valid_event_batch(
    tiny_reference: ReferenceData,
) -> None:
    sim = Simulation(tiny_reference, seed=1, start=MONDAY_S)
    emissions = [e for e in run_for(sim, 3600) if e.hospital_id == "SE2321000012-H201"]
    batch = EventBatch(
        source=sim.source_of("SE2321000012-H201"),
        hospital_id="SE2321000012-H201",
        events=[e.payload for e in emissions if isinstance(e.payload, dict)],
    )
    assert len(batch.events) == len(emissions)
