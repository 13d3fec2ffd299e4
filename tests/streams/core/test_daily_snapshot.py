"""The 06:00 Europe/Stockholm snapshot, across the DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from streams.core.config import CoreConfig
from streams.core.daily_snapshot import (
    DailySnapshot,
    Transition,
    aggregate_per_100,
    daily_snapshots,
    first_snapshot_at_or_after,
    snapshot_instant,
)
from tests.streams.core.factories import T0_S, admit, census, make_ward, run


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2025, 1, 15), 5),  # CET
        (date(2025, 3, 29), 5),  # Saturday before the change
        (date(2025, 3, 30), 4),  # last Sunday of March: clocks went forward at 02:00
        (date(2025, 3, 31), 4),
        (date(2025, 10, 25), 4),  # CEST
        (date(2025, 10, 26), 5),  # last Sunday of October: clocks went back at 03:00
        (date(2025, 10, 27), 5),
    ],
)
def test_six_oclock_local_in_utc(day: date, utc_hour: int) -> None:
    assert snapshot_instant(day) == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)


def test_local_days_around_the_changes_are_23_and_25_hours() -> None:
    spring = snapshot_instant(date(2025, 3, 30)) - snapshot_instant(date(2025, 3, 29))
    autumn = snapshot_instant(date(2025, 10, 26)) - snapshot_instant(date(2025, 10, 25))
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


def test_first_snapshot_at_or_after() -> None:
    six = int(snapshot_instant(date(2025, 3, 30)).timestamp())
    assert first_snapshot_at_or_after(six) == (date(2025, 3, 30), six)
    assert first_snapshot_at_or_after(six - 1) == (date(2025, 3, 30), six)
    nxt = int(snapshot_instant(date(2025, 3, 31)).timestamp())
    assert first_snapshot_at_or_after(six + 1) == (date(2025, 3, 31), nxt)


def _tr(when: datetime, over: int, out: int = 0, beds: int = 20) -> Transition:
    return Transition(
        at=when, available_beds=beds, occupied=beds + over, overcrowded=over, outlying_hosted=out
    )


@pytest.mark.parametrize(
    ("days", "transitions", "expected"),
    [
        pytest.param(
            (date(2025, 3, 29), date(2025, 3, 31)),
            # 04:30 UTC on the 30th is 06:30 CEST: after that morning's snapshot,
            # though it would have been before 06:00 CET (05:00 UTC) the day before.
            [
                _tr(datetime(2025, 3, 28, 12, tzinfo=UTC), 1),
                _tr(datetime(2025, 3, 30, 4, 30, tzinfo=UTC), 5),
            ],
            {date(2025, 3, 29): 1, date(2025, 3, 30): 1, date(2025, 3, 31): 5},
            id="spring forward",
        ),
        pytest.param(
            (date(2025, 10, 25), date(2025, 10, 27)),
            # 04:30 UTC on the 26th is 05:30 CET: before that morning's 06:00 (05:00 UTC).
            [
                _tr(datetime(2025, 10, 24, 12, tzinfo=UTC), 1),
                _tr(datetime(2025, 10, 26, 4, 30, tzinfo=UTC), 5),
            ],
            {date(2025, 10, 25): 1, date(2025, 10, 26): 5, date(2025, 10, 27): 5},
            id="fall back",
        ),
        pytest.param(
            (date(2025, 10, 25), date(2025, 10, 26)),
            [_tr(datetime(2025, 10, 26, 5, 0, tzinfo=UTC), 2)],  # exactly 06:00 CET counts
            {date(2025, 10, 26): 2},
            id="at 06:00 sharp, nothing known the day before",
        ),
    ],
)
def test_snapshots_from_transitions(
    days: tuple[date, date], transitions: list[Transition], expected: dict[date, int]
) -> None:
    got = daily_snapshots("W", reversed(transitions), *days)
    assert {s.day: s.overcrowded for s in got} == expected


def test_per_100_and_aggregate_are_ratio_of_sums() -> None:
    a = DailySnapshot(
        "A", date(2025, 1, 1), 0, available_beds=100, occupied=105, overcrowded=5, outlying_hosted=2
    )
    b = DailySnapshot(
        "B", date(2025, 1, 1), 0, available_beds=10, occupied=12, overcrowded=2, outlying_hosted=0
    )
    assert a.overcrowded_per_100 == 5.0
    assert aggregate_per_100([a, b]) == (pytest.approx(7 * 100 / 110), pytest.approx(2 * 100 / 110))
    empty = DailySnapshot(
        "C", date(2025, 1, 1), 0, available_beds=0, occupied=0, overcrowded=0, outlying_hosted=0
    )
    assert empty.overcrowded_per_100 is None
    assert a.to_dict()["day"] == "2025-01-01"


def _stream_snapshots(events: list[Any], config: CoreConfig) -> list[DailySnapshot]:
    _, out = run(events, config=config)
    return [o for o in out if isinstance(o, DailySnapshot)]


@pytest.mark.parametrize("start", [date(2025, 3, 27), date(2025, 10, 23)])
def test_ward_state_emits_final_snapshots_across_dst(start: date) -> None:
    """A ward reporting every 20 min for 6 days across a DST change: the stream's final
    06:00 snapshots equal the ones computed from its transitions."""
    config = CoreConfig(lateness_s=3600)
    begin = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) - T0_S
    events: list[Any] = []
    transitions: list[Transition] = []
    for k in range(6 * 72):
        t = begin + k * 1200
        occ, beds = 18 + (k * 7) % 6, 20
        events.append(census(t, occ, beds, outlying_hosted=k % 3))
        when = datetime.fromtimestamp(T0_S + t, UTC)
        transitions.append(Transition(when, beds, occ, max(0, occ - beds), k % 3))
        if k % 4 == 0:  # a movement in between: part of the step function too
            events.append(admit(t + 600))
            transitions.append(
                Transition(
                    when + timedelta(seconds=600), beds, occ + 1, max(0, occ + 1 - beds), k % 3
                )
            )
    got = _stream_snapshots(events, config)
    last = datetime.fromtimestamp(T0_S + begin + 6 * 72 * 1200, UTC)
    expected = [
        s
        for s in daily_snapshots(make_ward().ward_id, transitions, start, start + timedelta(days=6))
        if s.at_s < int(last.timestamp()) - 3600 - 300  # final only
    ]
    assert got == expected
    assert len(got) >= 5
    assert len({s.at.hour for s in got}) == 2  # 04:00 and 05:00 UTC both occur
