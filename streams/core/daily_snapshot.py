"""The SKR-comparable daily figure: each ward's counts as they stood at 06:00 Europe/Stockholm.

SKR counts överbeläggningar and utlokaliserade patients per ward every morning at 06:00 and
reports them per 100 available beds (DOMAIN.md, "Measures"). 06:00 local time is 05:00 UTC
in winter (CET) and 04:00 UTC in summer (CEST); the switches happen at 01:00 UTC on the
last Sundays of March and October, so 06:00 always exists exactly once and a local day
between two snapshots is 23, 24 or 25 hours long. zoneinfo does the arithmetic.

"The value that held at 06:00" is the value after every change at or before 06:00:00: a
census taken at exactly 06:00 counts for that morning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "SNAPSHOT_TIME",
    "STOCKHOLM",
    "DailySnapshot",
    "Transition",
    "aggregate_per_100",
    "daily_snapshots",
    "first_snapshot_at_or_after",
    "per_100",
    "snapshot_instant",
]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SNAPSHOT_TIME = time(6, 0)


def snapshot_instant(day: date, tz: ZoneInfo = STOCKHOLM) -> datetime:
    """06:00 local time of ``day``, as an aware UTC datetime."""
    return datetime.combine(day, SNAPSHOT_TIME, tzinfo=tz).astimezone(UTC)


def first_snapshot_at_or_after(t_s: int, tz: ZoneInfo = STOCKHOLM) -> tuple[date, int]:
    """The local day and epoch second of the first 06:00 at or after ``t_s``."""
    day = datetime.fromtimestamp(t_s, tz).date()
    at = int(snapshot_instant(day, tz).timestamp())
    if at < t_s:
        day += timedelta(days=1)
        at = int(snapshot_instant(day, tz).timestamp())
    return day, at


@dataclass(frozen=True, slots=True)
class DailySnapshot:
    """One ward's counts at 06:00 local time of ``day``."""

    ward_id: str
    day: date
    at_s: int
    available_beds: int
    occupied: int
    overcrowded: int
    outlying_hosted: int

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.at_s, UTC)

    @property
    def overcrowded_per_100(self) -> float | None:
        return per_100(self.overcrowded, self.available_beds)

    @property
    def outlying_per_100(self) -> float | None:
        return per_100(self.outlying_hosted, self.available_beds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ward_id": self.ward_id,
            "day": self.day.isoformat(),
            "at": self.at.isoformat(),
            "available_beds": self.available_beds,
            "occupied": self.occupied,
            "overcrowded": self.overcrowded,
            "outlying_hosted": self.outlying_hosted,
            "overcrowded_per_100": self.overcrowded_per_100,
            "outlying_per_100": self.outlying_per_100,
        }


@dataclass(frozen=True, slots=True)
class Transition:
    """The ward's counts from ``at`` until the next transition."""

    at: datetime
    available_beds: int
    occupied: int
    overcrowded: int
    outlying_hosted: int


def per_100(count: int, available_beds: int) -> float | None:
    """``count`` per 100 available beds; ``None`` without beds (never a made-up 0)."""
    if available_beds <= 0:
        return None
    return count * 100.0 / available_beds


def daily_snapshots(
    ward_id: str,
    transitions: Iterable[Transition],
    first_day: date,
    last_day: date,
    tz: ZoneInfo = STOCKHOLM,
) -> list[DailySnapshot]:
    """The 06:00 snapshots of ``first_day``..``last_day`` (inclusive) from a ward's transitions.

    Transitions may come in any order; a day before the first transition has no snapshot
    (nothing was known at its 06:00).
    """
    ordered = sorted(transitions, key=lambda tr: tr.at)
    out: list[DailySnapshot] = []
    i = -1
    day = first_day
    while day <= last_day:
        instant = snapshot_instant(day, tz)
        while i + 1 < len(ordered) and ordered[i + 1].at <= instant:
            i += 1
        if i >= 0:
            tr = ordered[i]
            out.append(
                DailySnapshot(
                    ward_id=ward_id,
                    day=day,
                    at_s=int(instant.timestamp()),
                    available_beds=tr.available_beds,
                    occupied=tr.occupied,
                    overcrowded=tr.overcrowded,
                    outlying_hosted=tr.outlying_hosted,
                )
            )
        day += timedelta(days=1)
    return out


def aggregate_per_100(snapshots: Iterable[DailySnapshot]) -> tuple[float | None, float | None]:
    """Overcrowded and outlying per 100 available beds over many wards (ratio of sums)."""
    beds = over = out = 0
    for s in snapshots:
        beds += s.available_beds
        over += s.overcrowded
        out += s.outlying_hosted
    return per_100(over, beds), per_100(out, beds)
