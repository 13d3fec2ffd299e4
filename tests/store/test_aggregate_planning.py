"""Which hours, days and 06:00 snapshots a refresh recomputes (unit)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from store.aggregates import (
    contiguous_ranges,
    day_ranges,
    days_touched,
    snapshot_days,
    snapshot_instant,
)


def _h(day: int, hour: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_contiguous_ranges() -> None:
    hours = [_h(1, 3), _h(1, 1), _h(1, 2), _h(1, 7), _h(1, 2)]
    assert contiguous_ranges(hours) == [(_h(1, 1), _h(1, 4)), (_h(1, 7), _h(1, 8))]
    assert contiguous_ranges([]) == []


def test_days_are_stockholm_days() -> None:
    # 23:00 UTC on 1 January is already 2 January in Stockholm (UTC+1).
    assert days_touched([_h(1, 22), _h(1, 23)]) == [date(2026, 1, 1), date(2026, 1, 2)]


def test_day_ranges() -> None:
    days = [date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 9)]
    assert day_ranges(days) == [
        (date(2026, 1, 1), date(2026, 1, 4)),
        (date(2026, 1, 9), date(2026, 1, 10)),
    ]


def test_snapshot_instant_follows_daylight_saving() -> None:
    assert snapshot_instant(date(2026, 1, 15)) == _h(15, 5)  # CET: 06:00 = 05:00 UTC
    assert snapshot_instant(date(2026, 7, 15)) == _h(15, 4, month=7)  # CEST: 04:00 UTC
    # the spring-forward night: 29 March 2026, 02:00 -> 03:00
    assert snapshot_instant(date(2026, 3, 29)) == datetime(2026, 3, 29, 4, tzinfo=UTC)


def test_snapshot_days_only_when_their_0600_hour_is_dirty() -> None:
    assert snapshot_days([_h(15, 4), _h(15, 6)]) == []
    assert snapshot_days([_h(15, 5)]) == [date(2026, 1, 15)]
    summer = datetime(2026, 7, 15, 4, tzinfo=UTC)
    assert snapshot_days([summer, summer + timedelta(hours=1)]) == [date(2026, 7, 15)]
