"""Ward state: table-driven cases of the event-time rules (issue 4, point 2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest

from schemas.messages import InvalidReason, WardState
from schemas.types import PressureLevel
from streams.core.config import CoreConfig
from streams.core.outputs import PreparednessObserved, Rejected
from streams.core.ward_state import (
    WardStateValue,
    apply,
    apply_in_place,
    is_stale,
    is_too_late,
    message_dict,
    refresh_stale,
    semantic_dict,
    to_message,
)
from tests.streams.core.factories import (
    SOURCE,
    T0,
    T0_S,
    WARD,
    Oracle,
    admit,
    at,
    cancel,
    capacity,
    census,
    discharge,
    heartbeat,
    make_ward,
    new_id,
    run,
    transfer_in,
    transfer_out,
    window_start,
)

MIN = 60
HOUR = 3600


def counts(state: WardStateValue) -> dict[str, Any]:
    return message_dict(state, make_ward(), region_code="01", target=0.85)["counts"]


# -- reconciliation of census and movements ----------------------------------------------


def _reconciliation_cases() -> list[tuple[str, list[Any], int, int]]:
    """(name, events in arrival order, expected occupied now, expected late_events)."""
    a1, a2, a3 = admit(10 * MIN), admit(20 * MIN), admit(40 * MIN)
    return [
        ("census only", [census(0, 10, 20)], 10, 0),
        ("census then admits", [census(0, 10, 20), a1, a2], 12, 0),
        (
            "newer census reconciles drift",
            [census(0, 10, 20), a1, a2, census(30 * MIN, 11, 20)],
            11,
            0,
        ),
        (
            "movement older than census arrives late: recorded, not counted",
            [census(0, 10, 20), census(30 * MIN, 11, 20), admit(25 * MIN)],
            11,
            1,
        ),
        (
            "movement in the census' own second is covered by it",
            [census(30 * MIN, 11, 20), admit(30 * MIN)],
            11,
            1,
        ),
        (
            "admit after newer census counts",
            [census(0, 10, 20), census(30 * MIN, 11, 20), a3],
            12,
            0,
        ),
        (
            "cancel of a movement after the census undoes it",
            [census(0, 10, 20), a1, cancel(50 * MIN, a1.event_id)],
            10,
            0,
        ),
        (
            "cancel of a movement before the census changes nothing now",
            [census(0, 10, 20), a1, census(30 * MIN, 11, 20), cancel(50 * MIN, a1.event_id)],
            11,
            0,
        ),
        (
            "discharge and transfers",
            [
                census(0, 10, 20),
                discharge(MIN),
                transfer_in(2 * MIN),
                transfer_in(3 * MIN),
                transfer_out(4 * MIN),
            ],
            10,
            0,
        ),
        (
            "movements before any census start from 0",
            [admit(0), admit(MIN), discharge(2 * MIN)],
            1,
            0,
        ),
        ("a discharge before any census clamps at 0", [discharge(0)], 0, 0),
        (
            "an older census arriving after a newer one changes nothing now",
            [census(30 * MIN, 11, 20), a3, census(0, 5, 20)],
            12,
            0,
        ),
    ]


@pytest.mark.parametrize(
    ("events", "occupied", "late"),
    [pytest.param(e, o, lt, id=name) for name, e, o, lt in _reconciliation_cases()],
)
def test_reconciliation(events: list[Any], occupied: int, late: int) -> None:
    state, outputs = run(events)
    assert counts(state)["occupied"] == occupied
    assert state.late_events == late
    assert not [o for o in outputs if isinstance(o, Rejected)]


@pytest.mark.parametrize(
    ("events", "available"),
    [
        pytest.param([census(0, 10, 20)], 20, id="census"),
        pytest.param([], 20, id="reference before any census"),
        pytest.param([capacity(0, -2)], 18, id="capacity before any census: from reference"),
        pytest.param([census(0, 10, 20), capacity(MIN, 3)], 23, id="opened after census"),
        pytest.param([census(0, 10, 20), capacity(MIN, -4)], 16, id="closed after census"),
        pytest.param(
            [census(10 * MIN, 10, 20), capacity(20 * MIN, -4, effective=5 * MIN)],
            20,
            id="effective before the census: superseded by it",
        ),
        pytest.param(
            [census(0, 10, 20), capacity(MIN, 5, effective=2 * HOUR), heartbeat(HOUR)],
            20,
            id="effective in the future: not yet",
        ),
        pytest.param(
            [census(0, 10, 20), capacity(MIN, 5, effective=2 * HOUR), heartbeat(2 * HOUR)],
            25,
            id="effective in the future: from then on",
        ),
        pytest.param(
            [census(0, 10, 20), capacity(MIN, 5), census(2 * MIN, 10, 21)],
            21,
            id="newer census supersedes capacity changes",
        ),
    ],
)
def test_available_beds(events: list[Any], available: int) -> None:
    state, _ = run([heartbeat(0), *events])
    assert counts(state)["available_beds"] == available


@pytest.mark.parametrize(
    ("events", "overcrowded", "free"),
    [
        pytest.param([census(0, 22, 20)], 2, 0, id="derived: occupied above available"),
        pytest.param([census(0, 18, 20)], 0, 2, id="derived: room left"),
        pytest.param([census(0, 20, 20, overcrowded=3)], 3, 0, id="reported beyond arithmetic"),
        pytest.param(
            [census(0, 20, 20, overcrowded=3), admit(MIN)], 4, 0, id="reported then one more"
        ),
        pytest.param(
            [census(0, 20, 20, overcrowded=3), discharge(MIN)], 3, 1, id="a free bed keeps them"
        ),
        pytest.param([census(0, 22, 20, overcrowded=0)], 0, 0, id="reported 0 wins at census"),
        pytest.param(
            [census(0, 22, 20, overcrowded=0), admit(MIN)], 1, 0, id="reported 0 then one more"
        ),
        pytest.param(
            [census(0, 18, 20), admit(MIN), admit(2 * MIN), admit(3 * MIN)], 1, 0, id="moves"
        ),
        pytest.param([census(0, 20, 20), capacity(MIN, -2)], 2, 0, id="closed beds"),
    ],
)
def test_overcrowded_and_free(events: list[Any], overcrowded: int, free: int) -> None:
    state, _ = run(events)
    c = counts(state)
    assert (c["overcrowded"], c["free_beds"]) == (overcrowded, free)


def test_outlying_hosted_follows_outlying_movements() -> None:
    state, _ = run(
        [
            census(0, 10, 20, outlying_hosted=2),
            admit(MIN, outlying=True),
            admit(2 * MIN),
            transfer_in(3 * MIN, outlying=True),
            discharge(4 * MIN, outlying=True),
            admit(5 * MIN, outlying=True, medically_motivated=True),
        ]
    )
    assert counts(state)["outlying_hosted"] == 3
    assert counts(state)["occupied"] == 13


def test_census_fields_and_free_after_pending() -> None:
    state, _ = run(
        [
            census(
                0,
                15,
                20,
                pending_admissions=4,
                expected_discharges_24h=3,
                placed_elsewhere=2,
                physical_beds=26,
                surge_beds_24h=4,
            ),
            admit(MIN),
        ]
    )
    msg = message_dict(state, make_ward(), region_code="01", target=0.85)
    c = msg["counts"]
    assert (c["placed_elsewhere"], c["pending_admissions"], c["expected_discharges_24h"]) == (
        2,
        4,
        3,
    )
    assert (c["physical_beds"], c["surge_beds_24h"], c["surge_beds_72h"]) == (26, 4, None)
    assert msg["measures"]["free_after_pending"] == 20 - 16 - 4 + 3
    assert msg["measures"]["occupancy"] == 16 / 20


def test_physical_beds_from_reference_before_a_census() -> None:
    state, _ = run([admit(0)])
    assert counts(state)["physical_beds"] == 24


# -- duplicates, lateness, cancels ---------------------------------------------------------


def test_duplicate_is_rejected_and_changes_nothing() -> None:
    a = admit(MIN)
    state, _ = run([census(0, 10, 20), a])
    before = state.to_dict()
    out = apply_in_place(state, a, ward=make_ward(), config=CoreConfig())
    assert [o.reason for o in out if isinstance(o, Rejected)] == [InvalidReason.DUPLICATE]
    assert state.to_dict() == before


@pytest.mark.parametrize("kind", ["census", "capacity", "cancel"])
def test_duplicate_of_other_kinds(kind: str) -> None:
    a = admit(MIN)
    ev = {
        "census": census(2 * MIN, 9, 20),
        "capacity": capacity(2 * MIN, 1),
        "cancel": cancel(2 * MIN, a.event_id),
    }[kind]
    state, _ = run([census(0, 10, 20), a, ev])
    version = state.version
    _, out = run([ev], state=state)
    assert [o.reason for o in out if isinstance(o, Rejected)] == [InvalidReason.DUPLICATE]
    assert state.version == version


def test_too_late_is_rejected_before_apply() -> None:
    config = CoreConfig(lateness_s=HOUR)
    state, _ = run([census(0, 10, 20), heartbeat(3 * HOUR)], config=config)
    late = admit(2 * HOUR - 1)
    ok = admit(2 * HOUR)
    assert is_too_late(state, late, config.lateness_s)
    assert not is_too_late(state, ok, config.lateness_s)
    before = state.to_dict()
    _, out = run([late], state=state, config=config)
    assert [o.reason for o in out if isinstance(o, Rejected)] == [InvalidReason.TOO_LATE]
    assert state.to_dict() == before
    _, out = run([ok], state=state, config=config)
    assert out == []


def test_capacity_effective_too_far_back_is_too_late_even_first() -> None:
    config = CoreConfig(lateness_s=HOUR)
    ev = capacity(3 * HOUR, -2, effective=HOUR)
    assert is_too_late(None, ev, config.lateness_s)
    _, out = run([ev], config=config)
    assert [o.reason for o in out if isinstance(o, Rejected)] == [InvalidReason.TOO_LATE]


@pytest.mark.parametrize("cancel_first", [False, True])
def test_cancel_before_or_after_target(cancel_first: bool) -> None:
    a = admit(10 * MIN)
    c = cancel(15 * MIN, a.event_id)
    tail = [c, a] if cancel_first else [a, c]
    state, _ = run([census(0, 10, 20), *tail, heartbeat(HOUR)])
    reference, _ = run([census(0, 10, 20), heartbeat(HOUR), c])
    assert counts(state)["occupied"] == 10
    # The cancelled admit leaves no trace in the integrals either.
    assert state.window(HOUR) == reference.window(HOUR)


def test_cancel_of_unknown_or_non_movement_target_changes_nothing() -> None:
    cap = capacity(MIN, 2)
    state, _ = run(
        [census(0, 10, 20), cap, cancel(2 * MIN, cap.event_id), cancel(3 * MIN, new_id())]
    )
    assert (counts(state)["occupied"], counts(state)["available_beds"]) == (10, 22)


def test_two_cancels_of_one_movement_undo_it_once() -> None:
    a = admit(MIN)
    state, _ = run([census(0, 10, 20), a, cancel(2 * MIN, a.event_id), cancel(3 * MIN, a.event_id)])
    assert counts(state)["occupied"] == 10


# -- heartbeat, preparedness, freshness ---------------------------------------------------


def test_heartbeat_extends_last_reported_not_as_of() -> None:
    state, _ = run([census(0, 10, 20), heartbeat(HOUR)])
    msg = message_dict(state, make_ward(), region_code="01", target=0.85)
    assert msg["as_of"] == T0
    assert msg["last_reported_at"] == at(HOUR)
    version = state.version
    run([heartbeat(30 * MIN)], state=state)  # older heartbeat: nothing to change
    assert state.version == version


def test_preparedness_is_passed_on() -> None:
    from schemas.events import PreparednessDeclared
    from schemas.types import PreparednessLevel

    ev = PreparednessDeclared(
        event_id=new_id(),
        source=SOURCE,
        ward_id=WARD,
        occurred_at=at(0),
        region_code="01",
        level=PreparednessLevel.STABSLAGE,
    )
    _, out = run([ev])
    assert out == [
        PreparednessObserved(ev.event_id, WARD, "01", PreparednessLevel.STABSLAGE, ev.occurred_at)
    ]


def test_stale_against_injected_clock() -> None:
    ward = make_ward(reporting_interval_s=900)
    state, _ = run([census(0, 10, 20)], ward=ward)
    assert not is_stale(state, at(900))
    assert is_stale(state, at(901))
    version = state.version
    assert refresh_stale(state, at(1000))
    assert state.stale
    assert state.version == version + 1
    assert not refresh_stale(state, at(1100))
    assert message_dict(state, ward, region_code="01", target=0.85)["stale"] is True
    run([heartbeat(1200)], ward=ward, state=state)
    assert refresh_stale(state, at(1210))
    assert not state.stale


def test_new_ward_without_events_is_stale() -> None:
    assert is_stale(WardStateValue.new(make_ward(), CoreConfig()), T0)


# -- purity, serialisation, messages -------------------------------------------------------


def test_pure_apply_does_not_touch_its_input() -> None:
    ward, config = make_ward(), CoreConfig()
    s1, _ = apply(None, census(0, 10, 20), ward=ward, config=config)
    frozen = s1.to_dict()
    frozen_json = orjson.dumps(frozen)
    s2, _ = apply(s1, admit(MIN), ward=ward, config=config)
    s3, _ = apply(s2, admit(2 * MIN), ward=ward, config=config)
    assert orjson.dumps(s1.to_dict()) == frozen_json
    assert counts(s1)["occupied"] == 10
    assert counts(s3)["occupied"] == 12
    # A rejected event gives back the very same state.
    a = admit(3 * MIN)
    s4, _ = apply(s3, a, ward=ward, config=config)
    again, out = apply(s4, a, ward=ward, config=config)
    assert again is s4
    assert isinstance(out[0], Rejected)


def _busy_ward(hours: int, config: CoreConfig) -> WardStateValue:
    events: list[Any] = []
    for h in range(hours):
        base = h * HOUR
        events.append(census(base, 18 + h % 3, 22))
        events += [admit(base + 10 * MIN), discharge(base + 25 * MIN, outlying=True)]
        events.append(admit(base + 40 * MIN))
        events.append(cancel(base + 41 * MIN, events[-1].event_id))
        events.append(capacity(base + 50 * MIN, 1 if h % 2 else -1))
    state, _ = run(events, config=config)
    return state


@pytest.mark.parametrize("hours", [1, 5, 30, 200])
def test_round_trip_through_json(hours: int) -> None:
    config = CoreConfig()
    state = _busy_ward(hours, config)
    raw = orjson.dumps(state.to_dict())
    assert state.to_json() == raw  # the fast path writes the same bytes
    assert state.to_json() == raw  # ... also from its caches
    back = WardStateValue.from_json(raw)
    assert back == state
    assert back.to_json() == raw
    ward = make_ward()
    assert message_dict(back, ward, region_code="01", target=0.85) == message_dict(
        state, ward, region_code="01", target=0.85
    )
    # and it goes on identically
    more = [admit(hours * HOUR + MIN), census(hours * HOUR + 2 * MIN, 19, 22)]
    run(more, state=state)
    run(more, state=back)
    assert back == state
    assert back.to_json() == state.to_json() == orjson.dumps(state.to_dict())


def test_state_stays_compact() -> None:
    """A ward with ~8 events an hour, after a week: records within 6 h + a week of buckets."""
    state = _busy_ward(24 * 8, CoreConfig())
    size = len(orjson.dumps(state.to_dict()))
    assert size < 6000, size


def test_message_validates_and_matches_the_fast_dict() -> None:
    ward = make_ward()
    state, _ = run([census(0, 19, 20), admit(MIN), admit(2 * MIN), heartbeat(HOUR)])
    msg = to_message(state, ward, region_code="01", target=0.85)
    assert isinstance(msg, WardState)
    assert msg == WardState.model_validate(message_dict(state, ward, region_code="01", target=0.85))
    assert msg.pressure_level is PressureLevel.CRITICAL  # 21/20 = 105 %, overcrowded 5 per 100
    assert msg.counts.overcrowded == 1
    assert msg.measures.overcrowded_per_100 == 5.0
    assert msg.hospital_id == ward.hospital_id
    assert msg.care_type == "somatic_acute"
    # orjson can write the fast dict as it is
    assert orjson.loads(orjson.dumps(message_dict(state, ward, region_code="01", target=0.85)))


def test_message_without_events_is_refused() -> None:
    with pytest.raises(ValueError, match="no events"):
        message_dict(
            WardStateValue.new(make_ward(), CoreConfig()),
            make_ward(),
            region_code="01",
            target=0.85,
        )


def test_reference_change_of_typical_beds_applies_before_first_census() -> None:
    state, _ = run([admit(0)])
    assert counts(state)["available_beds"] == 20
    run([admit(MIN)], ward=make_ward(typical_available_beds=30), state=state)
    assert counts(state)["available_beds"] == 30


# -- time-weighted occupancy --------------------------------------------------------------


def test_window_of_a_simple_step_function() -> None:
    # 10 patients on 20 beds, an 11th from 30 min: over the first hour 10.5/20.
    state, _ = run([census(0, 10, 20), admit(30 * MIN), heartbeat(HOUR)])
    p, b = state.window(HOUR)
    assert (p, b) == (10 * 1800 + 11 * 1800, 20 * 3600)
    msg = message_dict(state, make_ward(), region_code="01", target=0.85)
    assert msg["measures"]["occupancy_1h"]["occupancy"] == pytest.approx(10.5 / 20)


def test_time_before_the_first_event_counts_in_neither_integral() -> None:
    state, _ = run([census(0, 15, 20), heartbeat(10 * MIN)])
    assert state.window(HOUR) == (15 * 600, 20 * 600)


@pytest.mark.parametrize("lateness", [0, 5 * MIN, HOUR, 6 * HOUR, 10 * 24 * HOUR])
def test_windows_match_the_oracle_across_finalisation(lateness: int) -> None:
    config = CoreConfig(lateness_s=lateness)
    events: list[Any] = []
    for k in range(9 * 24 * 4):  # every 15 min for 9 days
        t = k * 15 * MIN + (k * 37) % 600
        if k % 8 == 0:
            events.append(census(t, 10 + k % 7, 20 + k % 3))
        elif k % 5 == 0:
            events.append(capacity(t, 1 if k % 2 else -1, effective=t + 7 * MIN))
        elif k % 3:
            events.append(admit(t))
        else:
            events.append(discharge(t))
    oracle = Oracle(events, typical_available=20)
    state = WardStateValue.new(make_ward(), config)
    ward = make_ward()
    for i, ev in enumerate(events):
        out = apply_in_place(state, ev, ward=ward, config=config)
        assert not [o for o in out if isinstance(o, Rejected)]
        if i % 97 == 0 or i == len(events) - 1:
            assert state.wm is not None
            for w in (HOUR, 24 * HOUR, 7 * 24 * HOUR):
                start = window_start(state, w, config)
                assert state.window(w) == oracle.integral(start, state.wm), (i, w)


def test_level_at_watermark_matches_oracle() -> None:
    events = [
        census(0, 10, 20),
        admit(MIN),
        capacity(2 * MIN, 2, effective=10 * MIN),
        heartbeat(5 * MIN),
    ]
    state, _ = run(events)
    o = Oracle(events, 20).level(T0_S + 5 * MIN)
    c = counts(state)
    assert (c["occupied"], c["available_beds"]) == (o.occupied, o.available)
    run([heartbeat(11 * MIN)], state=state)
    assert counts(state)["available_beds"] == 22


def test_semantic_dict_drops_only_diagnostics() -> None:
    state, _ = run([census(0, 10, 20)])
    d = semantic_dict(state)
    assert not {"ver", "late", "stale"} & d.keys()
    assert d["wm"] == state.wm


def test_many_events_in_one_second_keep_their_order_rules() -> None:
    t = 5 * MIN
    events = [census(0, 10, 20), admit(t), census(t, 12, 20), discharge(t), admit(t + 1)]
    state, _ = run(events)
    assert counts(state)["occupied"] == 13  # census at t covers both movements at t


def test_watermark_is_whole_seconds() -> None:
    state, _ = run([census(0.9, 10, 20), heartbeat(1.2)])
    assert state.wm == int((T0 + timedelta(seconds=1)).timestamp())


def test_vector_of_a_ward_without_events_is_its_reference() -> None:
    vec = WardStateValue.new(make_ward(), CoreConfig()).vector(0.85)
    assert vec[:6] == (1, 1, 20, 0, 20, 0)
    assert sum(vec[16:22]) == 0
