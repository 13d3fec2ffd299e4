"""Ward state: property-based tests (hypothesis) of order independence and the measures.

- any permutation of a ward's events within the lateness bound gives the same state;
- any arrival order that respects the lateness bound gives the same state, buckets and
  06:00 snapshots, also when time is finalised on the way;
- applying an event twice equals applying it once;
- deferring finalisation to the end of a round (the worker's path) changes nothing;
- a cancel before or after its target gives the same result;
- counts and windows equal a brute-force oracle;
- the time-weighted occupancy of a constant series is that constant.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import hypothesis.strategies as st
import orjson
from hypothesis import HealthCheck, given, settings
from pydantic import AwareDatetime, TypeAdapter

from streams.core.config import WINDOW_1H_S, WINDOW_7D_S, WINDOW_24H_S, CoreConfig
from streams.core.daily_snapshot import DailySnapshot
from streams.core.outputs import Rejected
from streams.core.ward_state import (
    WardStateValue,
    apply_in_place,
    epoch_seconds,
    message_dict,
    semantic_dict,
)
from tests.streams.core.factories import (
    Oracle,
    admit,
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
WINDOWS = (WINDOW_1H_S, WINDOW_24H_S, WINDOW_7D_S)
# CAPMON_CORE_EXAMPLES=2000 for a longer search than the default quick run.
PROPERTY = settings(
    max_examples=int(os.environ.get("CAPMON_CORE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# An event spec: (kind, time offset in s, a, b, flag); turned into events by _build.
_kinds = st.sampled_from(
    ["census", "admit", "admit", "discharge", "in", "out", "cancel", "capacity", "heartbeat"]
)


def _specs(span_s: int, max_size: int = 40) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    spec = st.tuples(
        _kinds,
        st.integers(0, span_s),
        st.integers(0, 30),
        st.integers(0, 30),
        st.booleans(),
        st.integers(0, 10_000),
    )
    return st.lists(spec, min_size=1, max_size=max_size)


def _build(specs: list[tuple[Any, ...]], *, cancel_reach_s: int | None = None) -> list[Any]:
    """Events in time order. Cancels name an earlier movement (within ``cancel_reach_s``)
    or, sometimes, an id never seen."""
    events: list[Any] = []
    movements: list[tuple[int, UUID]] = []
    for kind, t, a, b, flag, pick in sorted(specs, key=lambda s: s[1]):
        if kind == "census":
            events.append(
                census(t, a, b, overcrowded=(a % 4 if flag else None), outlying_hosted=b % 3)
            )
        elif kind in ("admit", "discharge", "in", "out"):
            make = {"admit": admit, "discharge": discharge, "in": transfer_in, "out": transfer_out}
            ev = make[kind](t, outlying=flag)
            events.append(ev)
            movements.append((t, ev.event_id))
        elif kind == "cancel":
            candidates = [
                eid for mt, eid in movements if cancel_reach_s is None or t - mt <= cancel_reach_s
            ]
            target = candidates[pick % len(candidates)] if candidates and pick % 5 else new_id()
            events.append(cancel(t, target))
        elif kind == "capacity":
            events.append(capacity(t, (a % 5 + 1) * (1 if flag else -1), effective=t + b * MIN))
        else:
            events.append(heartbeat(t))
    return events


def _view(state: WardStateValue) -> dict[str, Any]:
    msg = message_dict(state, make_ward(), region_code="01", target=0.85)
    del msg["version"], msg["late_events"]
    return msg


@PROPERTY
@given(specs=_specs(5 * HOUR), data=st.data())
def test_any_permutation_within_the_bound_gives_the_same_state(
    specs: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    config = CoreConfig(lateness_s=6 * HOUR)
    events = _build(specs)
    shuffled = data.draw(st.permutations(events))
    in_order, out1 = run(events, config=config)
    reordered, out2 = run(shuffled, config=config)
    assert not [o for o in out1 + out2 if isinstance(o, Rejected)]
    assert semantic_dict(reordered) == semantic_dict(in_order)
    assert _view(reordered) == _view(in_order)


@PROPERTY
@given(
    specs=_specs(9 * HOUR, max_size=60),
    jitter=st.lists(st.integers(0, 15 * MIN), min_size=60, max_size=60),
    lateness=st.sampled_from([30 * MIN, HOUR]),
)
def test_any_admissible_arrival_order_gives_the_same_state_and_snapshots(
    specs: list[tuple[Any, ...]], jitter: list[int], lateness: int
) -> None:
    """Events arrive up to 15 min after later ones (bounded disorder); the lateness bound is
    larger, so nothing is too late, but time is finalised while events still arrive."""
    config = CoreConfig(lateness_s=lateness)
    events = _build(specs, cancel_reach_s=lateness - 15 * MIN)
    arrival = [
        ev
        for _, ev in sorted(
            zip(
                (int(e.occurred_at.timestamp()) + j for e, j in zip(events, jitter, strict=False)),
                events,
                strict=True,
            ),
            key=lambda kv: kv[0],
        )
    ]
    in_order, out1 = run(events, config=config)
    disordered, out2 = run(arrival, config=config)
    assert not [o for o in out1 + out2 if isinstance(o, Rejected)]
    assert semantic_dict(disordered) == semantic_dict(in_order)
    assert _view(disordered) == _view(in_order)
    snaps1 = {o for o in out1 if isinstance(o, DailySnapshot)}
    snaps2 = {o for o in out2 if isinstance(o, DailySnapshot)}
    assert snaps1 == snaps2


@PROPERTY
@given(
    specs=_specs(30 * HOUR, max_size=80),
    jitter=st.lists(st.integers(0, 40 * MIN), min_size=80, max_size=80),
    settle_every=st.integers(1, 30),
    lateness=st.sampled_from([30 * MIN, HOUR, 6 * HOUR]),
)
def test_deferred_finalisation_equals_finalising_event_by_event(
    specs: list[tuple[Any, ...]], jitter: list[int], settle_every: int, lateness: int
) -> None:
    """The worker applies a round's events with ``settle=False`` and settles once per round.
    With disorder beyond the bound (so some events are too late), cancels reaching back
    across the final point and several days of time, every output, every rejection, the
    state and the 06:00 snapshots equal those of finalising after every event."""
    config = CoreConfig(lateness_s=lateness)
    events = _build(specs, cancel_reach_s=3 * HOUR)
    arrival = [
        ev
        for _, ev in sorted(
            zip(
                (epoch_seconds(e.occurred_at) + j for e, j in zip(events, jitter, strict=False)),
                events,
                strict=True,
            ),
            key=lambda kv: kv[0],
        )
    ]
    eager, out1 = run(arrival, config=config)
    ward = make_ward()
    deferred = WardStateValue.new(ward, config)
    out2: list[Any] = []
    for i, ev in enumerate(arrival, 1):
        out2.extend(apply_in_place(deferred, ev, ward=ward, config=config, settle=False))
        if i % settle_every == 0:
            out2.extend(deferred.settle())
    out2.extend(deferred.settle())

    def rejected(outs: list[Any]) -> list[tuple[str, Any]]:
        return [(str(o.reason), o.event_id) for o in outs if isinstance(o, Rejected)]

    assert rejected(out2) == rejected(out1)
    assert deferred.to_dict() == eager.to_dict()
    assert _view(deferred) == _view(eager)
    for w in WINDOWS:
        assert deferred.window(w) == eager.window(w)
    snaps1 = {o for o in out1 if isinstance(o, DailySnapshot)}
    snaps2 = {o for o in out2 if isinstance(o, DailySnapshot)}
    assert snaps2 == snaps1


@PROPERTY
@given(specs=_specs(8 * HOUR), data=st.data())
def test_applying_an_event_twice_equals_once(
    specs: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    config = CoreConfig(lateness_s=2 * HOUR)
    events = _build(specs)
    with_dups = list(events)
    for ev in data.draw(st.lists(st.sampled_from(events), max_size=10)):
        first = with_dups.index(ev)
        pos = data.draw(st.integers(first + 1, len(with_dups)))
        with_dups.insert(pos, ev)
    once, _ = run(events, config=config)
    twice, _ = run(with_dups, config=config)
    assert twice.to_dict() == once.to_dict()  # rejected events do not even bump the version


@PROPERTY
@given(specs=_specs(4 * HOUR), target_at=st.integers(0, 4 * HOUR), data=st.data())
def test_a_cancel_before_or_after_its_target_gives_the_same_result(
    specs: list[tuple[Any, ...]], target_at: int, data: st.DataObject
) -> None:
    events = _build(specs)
    target = data.draw(st.sampled_from([admit, discharge, transfer_in, transfer_out]))(target_at)
    undo = cancel(target_at + data.draw(st.integers(0, HOUR)), target.event_id)
    cut = data.draw(st.integers(0, len(events)))
    before, _ = run([*events[:cut], undo, *events[cut:], target])
    after, _ = run([*events[:cut], target, *events[cut:], undo])
    assert semantic_dict(before) == semantic_dict(after)
    without, _ = run([*events, undo])  # the cancelled movement leaves no trace but its time
    assert _view(before)["counts"] == _view(without)["counts"]


@PROPERTY
@given(
    specs=_specs(30 * HOUR, max_size=60),
    lateness=st.sampled_from([0, 10 * MIN, 2 * HOUR, 6 * HOUR]),
)
def test_counts_and_windows_equal_the_oracle(specs: list[tuple[Any, ...]], lateness: int) -> None:
    config = CoreConfig(lateness_s=lateness)
    # A cancel reaches its target only while the target is kept (within the bound).
    events = _build(specs, cancel_reach_s=lateness)
    state, out = run(events, config=config)
    assert not [o for o in out if isinstance(o, Rejected)]
    oracle = Oracle(events, typical_available=make_ward().typical_available_beds)
    assert state.wm is not None
    lv = oracle.level(state.wm)
    counts = _view(state)["counts"]
    assert (counts["occupied"], counts["available_beds"]) == (lv.occupied, lv.available)
    assert (counts["outlying_hosted"], counts["overcrowded"]) == (lv.outlying, lv.overcrowded)
    for w in WINDOWS:
        assert state.window(w) == oracle.integral(window_start(state, w, config), state.wm), w


@PROPERTY
@given(
    occupied=st.integers(0, 60),
    available=st.integers(1, 60),
    step=st.integers(1, 2 * HOUR),
    count=st.integers(1, 300),
    lateness=st.sampled_from([0, 5 * MIN, HOUR, 6 * HOUR]),
    offset=st.integers(0, 86_399),
)
def test_time_weighted_occupancy_of_a_constant_series_is_that_constant(
    occupied: int, available: int, step: int, count: int, lateness: int, offset: int
) -> None:
    config = CoreConfig(lateness_s=lateness)
    events = [census(offset + k * step, occupied, available) for k in range(count)]
    state, _ = run([*events, heartbeat(offset + count * step)], config=config)
    measures = _view(state)["measures"]
    for name in ("occupancy_1h", "occupancy_24h", "occupancy_7d"):
        assert measures[name]["occupancy"] == occupied / available, name


@PROPERTY
@given(specs=_specs(20 * HOUR, max_size=50), cut=st.integers(0, 50))
def test_a_restored_state_continues_identically(specs: list[tuple[Any, ...]], cut: int) -> None:
    config = CoreConfig(lateness_s=HOUR)
    events = _build(specs)
    first, _ = run(events[:cut], config=config)
    first.to_json()  # warm the serialisation caches, which must follow every change
    restored = WardStateValue.from_json(first.to_json())
    a, _ = run(events[cut:], config=config, state=first)
    b, _ = run(events[cut:], config=config, state=restored)
    assert a.to_dict() == b.to_dict()
    assert a.to_json() == b.to_json() == orjson.dumps(b.to_dict())


@settings(max_examples=300, deadline=None)
@given(
    # hypothesis bounds wall-clock values naively; every value gets a tzinfo below
    when=st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    ),
    offset_min=st.integers(-18 * 60 + 1, 18 * 60 - 1),
    kind=st.sampled_from(["pydantic", "timezone", "utc", "zoneinfo"]),
)
def test_epoch_seconds_is_int_timestamp(when: datetime, offset_min: int, kind: str) -> None:
    if kind == "pydantic":
        sign = "+" if offset_min >= 0 else "-"
        text = f"{when.isoformat()}{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
        dt = TypeAdapter(AwareDatetime).validate_python(text)
    elif kind == "timezone":
        dt = when.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    elif kind == "utc":
        dt = when.replace(tzinfo=UTC)
    else:
        dt = when.replace(tzinfo=ZoneInfo("Europe/Stockholm"))
    assert epoch_seconds(dt) == int(dt.timestamp())
