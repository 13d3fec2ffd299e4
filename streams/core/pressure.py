"""Pressure levels 1-4 per scope and care type (DOMAIN.md, "Pressure levels and alerts").

| level | trigger |
|---|---|
| 1 normal | occupancy <= target |
| 2 strained | occupancy > target |
| 3 critical | occupancy >= 100 %, or overcrowded per 100 available beds > 3 |
| 4 severe | occupancy >= 110 %, or no free bed of the care type in the region |

Thresholds are configurable (``PressureThresholds``). ``assess`` also implements the
hysteresis the alert rules need: for the level an alert currently holds (``held``) and
every level below it, a trigger counts as still met down to the trigger minus the clear
margin; levels above ``held`` need their plain trigger. With ``held`` = 1 (no alert) it is
the plain table above.

No available beds: with patients on the ward that is the worst case (level 4, occupancy
undefined); with no patients either it is level 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.types import PressureLevel
from streams.core.config import PressureThresholds

__all__ = ["Assessment", "Driver", "assess", "pressure_level"]


class Driver:
    """Which condition decided the level (for alert texts)."""

    OCCUPANCY = "occupancy"
    OVERCROWDED = "overcrowded_per_100"
    NO_FREE_BED = "no_free_bed"
    NO_BEDS = "no_available_beds"


@dataclass(frozen=True, slots=True)
class Assessment:
    level: PressureLevel
    value: float | None  # the measure that decided the level
    threshold: float | None  # its trigger (before hysteresis)
    driver: str
    occupancy: float | None


_DEFAULT_THRESHOLDS = PressureThresholds()


def assess(
    *,
    occupied: int,
    available: int,
    overcrowded: int,
    free_beds: int,
    target: float,
    thresholds: PressureThresholds = _DEFAULT_THRESHOLDS,
    no_free_bed_applies: bool = False,
    held: int = 1,
    margin: float = 0.0,
    margin_per_100: float = 0.0,
) -> Assessment:
    """The pressure level of one scope and care type from its counts.

    ``no_free_bed_applies``: the scope is a region or the nation, where "no free bed of
    the care type" makes the level severe.
    """
    if available <= 0:
        if occupied > 0:
            return Assessment(PressureLevel.SEVERE, None, None, Driver.NO_BEDS, None)
        return Assessment(PressureLevel.NORMAL, None, None, Driver.NO_BEDS, None)
    occ = occupied / available

    def met(value: float, trigger: float, level: int, strict: bool, m: float) -> bool:
        if held >= level:
            return value >= trigger - m
        return value > trigger if strict else value >= trigger

    t = thresholds
    if met(occ, t.severe_occupancy, 4, False, margin):
        return Assessment(PressureLevel.SEVERE, occ, t.severe_occupancy, Driver.OCCUPANCY, occ)
    if no_free_bed_applies and t.severe_when_no_free_bed and free_beds <= 0:
        return Assessment(PressureLevel.SEVERE, 0.0, 0.0, Driver.NO_FREE_BED, occ)
    if met(occ, t.critical_occupancy, 3, False, margin):
        return Assessment(PressureLevel.CRITICAL, occ, t.critical_occupancy, Driver.OCCUPANCY, occ)
    p100 = overcrowded * 100.0 / available
    if met(p100, t.critical_overcrowded_per_100, 3, True, margin_per_100):
        return Assessment(
            PressureLevel.CRITICAL, p100, t.critical_overcrowded_per_100, Driver.OVERCROWDED, occ
        )
    if met(occ, target, 2, True, margin):
        return Assessment(PressureLevel.STRAINED, occ, target, Driver.OCCUPANCY, occ)
    return Assessment(PressureLevel.NORMAL, occ, target, Driver.OCCUPANCY, occ)


def pressure_level(
    *,
    occupied: int,
    available: int,
    overcrowded: int,
    free_beds: int,
    target: float,
    thresholds: PressureThresholds = _DEFAULT_THRESHOLDS,
    no_free_bed_applies: bool = False,
) -> PressureLevel:
    """The plain level (no hysteresis): what a ward state or rollup shows.

    The same table as ``assess`` with ``held`` = 1, without building an ``Assessment``
    (it runs for every message).
    """
    t = thresholds
    if available <= 0:
        return PressureLevel.SEVERE if occupied > 0 else PressureLevel.NORMAL
    occ = occupied / available
    if occ >= t.severe_occupancy or (
        no_free_bed_applies and t.severe_when_no_free_bed and free_beds <= 0
    ):
        return PressureLevel.SEVERE
    if (
        occ >= t.critical_occupancy
        or overcrowded * 100.0 / available > t.critical_overcrowded_per_100
    ):
        return PressureLevel.CRITICAL
    return PressureLevel.STRAINED if occ > target else PressureLevel.NORMAL
