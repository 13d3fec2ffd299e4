"""The ground truth: the pipeline's core and an independent recount agree on every ward."""

from __future__ import annotations

import orjson
import pytest

from schemas.messages import Counts, Measures
from schemas.reference import ReferenceData
from simulator.ground_truth import GroundTruth
from simulator.model import Simulation
from simulator.scenarios import ScenarioOptions
from streams.core import measures as m
from tests.simulator.conftest import DAY_S, MONDAY_S, run_for

HOUR = 3600


@pytest.mark.parametrize(
    "scenario", ["normal", "bad-input", "major-incident", "summer-closures", "winter-surge"]
)
def test_core_and_recount_agree(tiny_reference: ReferenceData, scenario: str) -> None:
    options = ScenarioOptions(incident_after_s=HOUR)
    sim = Simulation(tiny_reference, seed=13, scenario=scenario, start=MONDAY_S, options=options)
    truth = GroundTruth(tiny_reference)
    truth.observe(run_for(sim, 3 * DAY_S))
    truth.finish(sim.now)
    assert truth.disagreements() == []
    assert len(truth.snapshots[-1].wards) == len(tiny_reference.wards)


def test_core_and_recount_agree_for_two_regions_with_bad_input(
    national_reference: ReferenceData,
) -> None:
    options = ScenarioOptions(regions=("12", "23"))
    sim = Simulation(
        national_reference, seed=2, scenario="bad-input", start=MONDAY_S, options=options
    )
    truth = GroundTruth(national_reference)
    truth.observe(run_for(sim, 8 * HOUR))
    truth.finish(sim.now)
    assert truth.disagreements() == []
    assert sum(truth.expected_rejections.values()) > 300


def test_windows_are_exact_within_the_lateness_bound(tiny_reference: ReferenceData) -> None:
    """Before any time is folded into buckets, every window integral agrees exactly."""
    sim = Simulation(tiny_reference, seed=3, start=MONDAY_S)
    truth = GroundTruth(tiny_reference)
    truth.observe(run_for(sim, 5 * HOUR))
    core = truth.snapshot(sim.now)
    recount = truth.recount_snapshot(sim.now)
    assert core.wards == recount.wards
    assert core.rollups == recount.rollups


def test_a_snapshot_is_the_state_after_events_up_to_its_time(
    tiny_reference: ReferenceData,
) -> None:
    sim = Simulation(tiny_reference, seed=9, scenario="bad-input", start=MONDAY_S)
    emissions = run_for(sim, 10 * HOUR)
    at = MONDAY_S + 4 * HOUR + 123
    truth = GroundTruth(tiny_reference, snapshot_times=[at])
    truth.observe(emissions)
    truth.finish(sim.now)
    replay = GroundTruth(tiny_reference)
    replay.observe([e for e in emissions if e.ts <= at])
    assert truth.snapshots[0].at == at
    assert truth.snapshots[0].wards == replay.snapshot(at).wards
    assert truth.snapshots[-1].at == sim.now


def test_rollups_are_sums_of_their_wards(national_reference: ReferenceData) -> None:
    options = ScenarioOptions(regions=("08", "12"))
    sim = Simulation(national_reference, seed=1, start=MONDAY_S, options=options)
    truth = GroundTruth(national_reference, independent=False)
    truth.observe(run_for(sim, 2 * HOUR))
    snapshot = truth.finish(sim.now)
    rollups = snapshot.rollups

    def total(keys: list[str]) -> list[int]:
        return [sum(rollups[k][i] for k in keys) for i in range(m.VECTOR_LEN)]

    assert list(rollups["nation:all"]) == total(["region:08:all", "region:12:all"])
    skane = [f"hospital:{h.hospital_id}:all" for h in national_reference.hospitals_of_region("12")]
    assert list(rollups["region:12:all"]) == total(skane)
    acute = [k for k in rollups if k.startswith("region:") and k.endswith(":somatic_acute")]
    assert list(rollups["nation:somatic_acute"]) == total(acute)
    wards = [w for w in snapshot.wards if national_reference.region_of(w).code == "08"]
    assert rollups["region:08:all"][m.WARD_COUNT] == len(wards)
    assert rollups["region:08:all"][m.OCCUPIED] == sum(
        snapshot.wards[w].vector[m.OCCUPIED] for w in wards
    )


def test_truth_json_speaks_the_message_contract(tiny_reference: ReferenceData) -> None:
    sim = Simulation(tiny_reference, seed=1, scenario="bad-input", start=MONDAY_S)
    truth = GroundTruth(tiny_reference, snapshot_times=[MONDAY_S + HOUR])
    truth.observe(run_for(sim, 2 * HOUR))
    truth.finish(sim.now)
    document = orjson.loads(orjson.dumps(truth.to_json({"seed": 1})))
    assert document["meta"]["seed"] == 1
    assert document["meta"]["events_published"] == truth.published
    assert set(document["meta"]["rejected_expected"]) >= {"duplicate", "malformed_json"}
    assert [s["at"] for s in document["snapshots"]] == [
        "2025-01-13T00:00:00+00:00",
        "2025-01-13T01:00:00+00:00",
    ]
    last = document["snapshots"][-1]
    assert set(last["wards"]) == set(tiny_reference.wards)
    for ward in last["wards"].values():
        Counts.model_validate(ward["counts"])
        Measures.model_validate(ward["measures"])
        assert ward["as_of"] <= ward["last_reported_at"]
    nation = last["rollups"]["nation:all"]
    assert nation["ward_count"] == len(tiny_reference.wards)
    Counts.model_validate(nation["counts"])
    Measures.model_validate(nation["measures"])
    assert "region:12:paediatric" in last["rollups"]
    assert "hospital:SE2321000012-H202:psychiatry" in last["rollups"]
