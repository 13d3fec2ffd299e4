"""Rollups: sums by replacement, idempotent under replays; a region equals the sum of its wards."""

from __future__ import annotations

import random
from typing import Any

import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from schemas.messages import ScopeRollup
from schemas.types import ALL_CARE_TYPES, CareType, PreparednessLevel, PressureLevel
from streams.core import measures as m
from streams.core.config import CoreConfig
from streams.core.rollup import Part, ScopeState, message_dict, to_message, ward_parts
from streams.core.ward_state import WardStateValue, apply_in_place
from tests.streams.core.factories import admit, census, discharge, heartbeat, make_ward

MIN = 60
CARE_TYPES = [CareType.SOMATIC_ACUTE, CareType.INTENSIVE_CARE, CareType.PSYCHIATRY]


def _vec(**values: int) -> tuple[int, ...]:
    v = [0] * m.VECTOR_LEN
    v[m.WARD_COUNT] = 1
    v[m.WARDS_REPORTING] = 1
    for name, value in values.items():
        v[m.VECTOR_FIELDS.index(name)] = value
    if "free_beds" not in values:
        v[m.FREE] = max(0, v[m.AVAILABLE] - v[m.OCCUPIED])
    return tuple(v)


def _part(as_of: int = 1_740_000_000, **values: int) -> Part:
    return Part(_vec(**values), as_of, as_of)


def test_update_replaces_and_moves_the_sum_by_the_difference() -> None:
    scope = ScopeState("hospital:H")
    acute = str(CareType.SOMATIC_ACUTE)
    assert scope.update("w1", 1, {acute: _part(available_beds=20, occupied=10)})
    assert scope.update("w2", 1, {acute: _part(available_beds=10, occupied=9)})
    assert scope.totals[acute][m.OCCUPIED] == 19
    changed = scope.update("w1", 2, {acute: _part(available_beds=20, occupied=12)})
    assert changed == {acute, ALL_CARE_TYPES}
    assert scope.totals[acute][m.OCCUPIED] == 21
    assert scope.totals[ALL_CARE_TYPES][m.OCCUPIED] == 21
    assert scope.totals[acute][m.WARD_COUNT] == 2


def test_older_or_equal_versions_are_ignored() -> None:
    scope = ScopeState("hospital:H")
    acute = str(CareType.SOMATIC_ACUTE)
    scope.update("w1", 5, {acute: _part(available_beds=20, occupied=10)})
    version = scope.version
    assert scope.update("w1", 5, {acute: _part(available_beds=20, occupied=99)}) == frozenset()
    assert scope.update("w1", 4, {acute: _part(available_beds=20, occupied=99)}) == frozenset()
    assert scope.totals[acute][m.OCCUPIED] == 10
    assert scope.version == version


def test_unchanged_contribution_with_newer_version_changes_nothing_but_is_recorded() -> None:
    scope = ScopeState("hospital:H")
    acute = str(CareType.SOMATIC_ACUTE)
    p = _part(available_beds=20, occupied=10)
    scope.update("w1", 1, {acute: p})
    assert scope.update("w1", 2, {acute: p}) == frozenset()
    assert scope.children["w1"][0] == 2


def test_a_ward_changing_care_type_moves_between_sums() -> None:
    scope = ScopeState("hospital:H")
    acute, icu = str(CareType.SOMATIC_ACUTE), str(CareType.INTENSIVE_CARE)
    scope.update("w1", 1, {acute: _part(available_beds=20, occupied=10)})
    changed = scope.update("w1", 2, {icu: _part(available_beds=8, occupied=7)})
    assert changed == {acute, icu, ALL_CARE_TYPES}
    assert acute not in scope.totals
    assert scope.totals[icu][m.OCCUPIED] == 7
    assert scope.totals[ALL_CARE_TYPES][m.WARD_COUNT] == 1


def test_remove_a_child() -> None:
    scope = ScopeState("hospital:H")
    acute = str(CareType.SOMATIC_ACUTE)
    scope.update("w1", 1, {acute: _part(available_beds=20, occupied=10)})
    scope.update("w2", 1, {acute: _part(available_beds=10, occupied=5)})
    assert scope.remove("w1") == {acute, ALL_CARE_TYPES}
    assert scope.totals[acute][m.OCCUPIED] == 5
    assert scope.remove("w1") == frozenset()
    scope.remove("w2")
    assert scope.totals == {}


def test_all_is_not_a_contribution() -> None:
    with pytest.raises(ValueError, match="derived"):
        ScopeState("hospital:H").update("w1", 1, {ALL_CARE_TYPES: _part()})


def test_ratios_are_ratios_of_sums() -> None:
    scope = ScopeState("region:01")
    acute = str(CareType.SOMATIC_ACUTE)
    scope.update(
        "h1", 1, {acute: _part(available_beds=100, occupied=90, overcrowded=3, outlying_hosted=1)}
    )
    scope.update(
        "h2", 1, {acute: _part(available_beds=10, occupied=12, overcrowded=2, outlying_hosted=1)}
    )
    msg = to_message(scope, acute, target=0.85)
    assert msg.measures.occupancy == pytest.approx(102 / 110)  # not (0.9 + 1.2) / 2
    assert msg.measures.overcrowded_per_100 == pytest.approx(5 * 100 / 110)
    assert msg.measures.outlying_per_100 == pytest.approx(2 * 100 / 110)
    assert msg.counts.free_beds == 10  # sum of per-ward free beds, not 110 - 102


def test_rollup_message_fields() -> None:
    scope = ScopeState("region:01")
    acute = str(CareType.SOMATIC_ACUTE)
    scope.update(
        "h1",
        3,
        {
            acute: Part(
                _vec(
                    available_beds=20,
                    occupied=17,
                    ward_count=2,
                    wards_reporting=1,
                    target_weight=8500 * 20,
                ),
                200,
                100,
            )
        },
    )
    scope.update(
        "h2",
        1,
        {acute: Part(_vec(available_beds=10, occupied=9, target_weight=9500 * 10), 300, 150)},
    )
    msg = to_message(scope, acute, declared_preparedness=PreparednessLevel.STABSLAGE)
    assert isinstance(msg, ScopeRollup)
    assert (msg.ward_count, msg.wards_reporting) == (3, 2)
    assert msg.reporting_coverage == pytest.approx(2 / 3)
    assert int(msg.as_of.timestamp()) == 300
    assert msg.oldest_as_of is not None
    assert int(msg.oldest_as_of.timestamp()) == 100
    assert msg.target == pytest.approx((0.85 * 20 + 0.95 * 10) / 30)
    assert msg.declared_preparedness is PreparednessLevel.STABSLAGE
    assert msg == ScopeRollup.model_validate(
        message_dict(scope, acute, declared_preparedness=PreparednessLevel.STABSLAGE)
    )
    assert orjson.loads(orjson.dumps(message_dict(scope, acute)))


@pytest.mark.parametrize(
    ("scope_id", "level"),
    [
        ("hospital:H", PressureLevel.NORMAL),
        ("region:01", PressureLevel.SEVERE),
        ("nation", PressureLevel.SEVERE),
    ],
)
def test_no_free_bed_makes_regions_severe(scope_id: str, level: PressureLevel) -> None:
    scope = ScopeState(scope_id)
    icu = str(CareType.INTENSIVE_CARE)
    # 8 of 10 beds taken in total, but every ward full or over: no free bed anywhere.
    scope.update("a", 1, {icu: _part(available_beds=4, occupied=2, free_beds=0)})
    scope.update("b", 1, {icu: _part(available_beds=6, occupied=6)})
    assert to_message(scope, icu, target=0.9).pressure_level is level


def test_empty_care_type_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing"):
        message_dict(ScopeState("nation"), ALL_CARE_TYPES)


def test_round_trip() -> None:
    scope = ScopeState("region:01")
    scope.update(
        "h1",
        3,
        {
            "somatic_acute": _part(available_beds=20, occupied=17),
            "psychiatry": _part(available_beds=5, occupied=5),
        },
    )
    back = ScopeState.from_dict(orjson.loads(orjson.dumps(scope.to_dict())))
    assert back == scope
    assert back.totals == scope.totals


# -- a region equals the sum of its wards -------------------------------------------------


def _ward_events(rng: random.Random, ward_id: str, n: int) -> list[Any]:
    t = rng.randrange(0, 600)
    events: list[Any] = [census(t, rng.randrange(0, 30), rng.randrange(1, 30), ward_id=ward_id)]
    for _ in range(n):
        t += rng.randrange(1, 900)
        kind = rng.random()
        if kind < 0.4:
            events.append(admit(t, ward_id=ward_id))
        elif kind < 0.8:
            events.append(discharge(t, ward_id=ward_id))
        elif kind < 0.9:
            events.append(census(t, rng.randrange(0, 30), rng.randrange(1, 30), ward_id=ward_id))
        else:
            events.append(heartbeat(t, ward_id=ward_id))
    return events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    hospitals=st.integers(1, 4),
    wards_per_hospital=st.integers(1, 5),
)
def test_region_rollup_equals_the_sum_of_its_wards(
    seed: int, hospitals: int, wards_per_hospital: int
) -> None:
    """Wards update in random order, contributions arrive shuffled and replayed (at least
    once), hospitals forward theirs to the region; at the end the region equals the sum of
    the wards' latest vectors, per care type and for ``all``."""
    rng = random.Random(seed)
    config = CoreConfig()
    region = ScopeState("region:01")
    hosp_states = {f"H{h}": ScopeState(f"hospital:H{h}") for h in range(hospitals)}
    wards = {
        f"SE2321000016-W{h}{w:02d}": (
            f"H{h}",
            make_ward(f"SE2321000016-W{h}{w:02d}", care_type=rng.choice(CARE_TYPES)),
        )
        for h in range(hospitals)
        for w in range(wards_per_hospital)
    }
    states = {wid: WardStateValue.new(ward, config) for wid, (_, ward) in wards.items()}
    streams = {wid: _ward_events(rng, wid, rng.randrange(1, 25)) for wid in wards}
    targets = {wid: rng.choice([0.8, 0.85, 0.95]) for wid in wards}
    pending: list[tuple[str, int, dict[str, Part]]] = []  # ward contributions in flight
    hospital_out: list[tuple[str, int, dict[str, Part]]] = []
    while any(streams.values()):
        wid = rng.choice([w for w, evs in streams.items() if evs])
        ev = streams[wid].pop(0)
        _, ward = wards[wid]
        apply_in_place(states[wid], ev, ward=ward, config=config)
        pending.append(
            (wid, states[wid].version, ward_parts(states[wid], ward.care_type, targets[wid]))
        )
        # deliver some in-flight contributions, in random order, sometimes twice
        rng.shuffle(pending)
        for _ in range(rng.randrange(0, len(pending) + 1)):
            cwid, ver, parts = pending.pop()
            if rng.random() < 0.2:
                pending.append((cwid, ver, parts))  # redelivered later
            hs = hosp_states[wards[cwid][0]]
            if hs.update(cwid, ver, parts):
                hospital_out.append((wards[cwid][0], hs.version, hs.parts()))
        rng.shuffle(hospital_out)
        for _ in range(rng.randrange(0, len(hospital_out) + 1)):
            h, ver, parts = hospital_out.pop()
            region.update(h, ver, parts)
    # drain everything (late deliveries and replays included)
    while pending:
        cwid, ver, parts = pending.pop()
        hs = hosp_states[wards[cwid][0]]
        if hs.update(cwid, ver, parts):
            hospital_out.append((wards[cwid][0], hs.version, hs.parts()))
    rng.shuffle(hospital_out)
    for h, ver, parts in hospital_out:
        region.update(h, ver, parts)

    expected: dict[str, list[int]] = {}
    for wid, (_, ward) in wards.items():
        vec = states[wid].vector(targets[wid])
        for key in (str(ward.care_type), ALL_CARE_TYPES):
            acc = expected.setdefault(key, [0] * m.VECTOR_LEN)
            for i, v in enumerate(vec):
                acc[i] += v
    assert region.totals == expected
    # ... and the message ratios are those of the sums
    for ct, vec in expected.items():
        msg = message_dict(region, ct)
        assert msg["measures"]["occupancy"] == (
            vec[m.OCCUPIED] / vec[m.AVAILABLE] if vec[m.AVAILABLE] else None
        )
        assert msg["ward_count"] == vec[m.WARD_COUNT]


def test_ward_parts_needs_an_event() -> None:
    ward = make_ward()
    with pytest.raises(ValueError, match="no events"):
        ward_parts(WardStateValue.new(ward, CoreConfig()), ward.care_type, 0.85)


def test_ward_parts_carry_as_of() -> None:
    ward = make_ward()
    state = WardStateValue.new(ward, CoreConfig())
    apply_in_place(state, census(MIN, 10, 20), ward=ward, config=CoreConfig())
    apply_in_place(state, heartbeat(2 * MIN), ward=ward, config=CoreConfig())
    ((ct, part),) = ward_parts(state, ward.care_type, 0.85).items()
    assert ct == "somatic_acute"
    assert part.as_of_s == part.oldest_s == state.as_of
