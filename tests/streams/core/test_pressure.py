"""Pressure levels 1-4 (DOMAIN.md): the table, configurable thresholds and the hysteresis."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from schemas.types import PressureLevel
from streams.core.config import PressureThresholds
from streams.core.pressure import Driver, assess, pressure_level


@pytest.mark.parametrize(
    ("occupied", "available", "overcrowded", "free", "no_free_applies", "level"),
    [
        (85, 100, 0, 15, False, PressureLevel.NORMAL),  # exactly at target: normal
        (86, 100, 0, 14, False, PressureLevel.STRAINED),
        (99, 100, 3, 1, False, PressureLevel.STRAINED),  # 3 per 100 is not > 3
        (99, 100, 4, 1, False, PressureLevel.CRITICAL),  # overcrowded per 100 > 3
        (100, 100, 0, 0, False, PressureLevel.CRITICAL),  # >= 100 %
        (109, 100, 9, 0, False, PressureLevel.CRITICAL),
        (110, 100, 10, 0, False, PressureLevel.SEVERE),  # >= 110 %
        (50, 100, 0, 0, True, PressureLevel.SEVERE),  # no free bed of the care type in the region
        (50, 100, 0, 0, False, PressureLevel.NORMAL),  # ... counts only where it applies
        (0, 0, 0, 0, False, PressureLevel.NORMAL),  # no beds, no patients
        (2, 0, 2, 0, False, PressureLevel.SEVERE),  # patients and no beds
    ],
)
def test_levels(
    occupied: int, available: int, overcrowded: int, free: int, no_free_applies: bool, level: int
) -> None:
    got = pressure_level(
        occupied=occupied,
        available=available,
        overcrowded=overcrowded,
        free_beds=free,
        target=0.85,
        no_free_bed_applies=no_free_applies,
    )
    assert got == level


def test_thresholds_are_configurable() -> None:
    t = PressureThresholds(
        critical_occupancy=0.95, severe_occupancy=1.0, critical_overcrowded_per_100=1.0
    )
    kw = {"free_beds": 1, "target": 0.8, "thresholds": t}
    assert pressure_level(occupied=95, available=100, overcrowded=0, **kw) == 3  # type: ignore[arg-type]
    assert pressure_level(occupied=100, available=100, overcrowded=0, **kw) == 4  # type: ignore[arg-type]
    assert pressure_level(occupied=90, available=100, overcrowded=2, **kw) == 3  # type: ignore[arg-type]
    off = PressureThresholds(severe_when_no_free_bed=False)
    assert (
        pressure_level(
            occupied=5,
            available=10,
            overcrowded=0,
            free_beds=0,
            target=0.85,
            thresholds=off,
            no_free_bed_applies=True,
        )
        == 1
    )


def test_invalid_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="critical_occupancy"):
        PressureThresholds(critical_occupancy=1.2, severe_occupancy=1.1)


@pytest.mark.parametrize(
    ("occupied", "held", "level"),
    [
        (84, 1, 1),  # not held: plain trigger
        (84, 2, 2),  # held at 2: stays down to 83 %
        (83, 2, 2),
        (82, 2, 1),  # below trigger - margin: clears
        (99, 3, 3),  # held at 3: stays down to 98 %
        (97, 3, 2),
        (108, 4, 4),
        (107, 4, 3),
        (99, 2, 2),  # held at 2: level 3 needs its plain trigger
    ],
)
def test_hysteresis_of_held_levels(occupied: int, held: int, level: int) -> None:
    a = assess(
        occupied=occupied,
        available=100,
        overcrowded=0,
        free_beds=100 - occupied,
        target=0.85,
        held=held,
        margin=0.02,
    )
    assert a.level == level


def test_assessment_says_what_drove_it() -> None:
    a = assess(occupied=90, available=100, overcrowded=5, free_beds=10, target=0.85)
    assert (a.level, a.driver, a.value, a.threshold) == (3, Driver.OVERCROWDED, 5.0, 3.0)
    assert a.occupancy == 0.9


@settings(max_examples=300, deadline=None)
@given(
    occupied=st.integers(0, 200),
    available=st.integers(0, 200),
    overcrowded=st.integers(0, 50),
    free=st.integers(0, 50),
    target=st.floats(0.3, 1.0),
    applies=st.booleans(),
)
def test_plain_level_is_assess_without_hysteresis(
    occupied: int, available: int, overcrowded: int, free: int, target: float, applies: bool
) -> None:
    kw = {
        "occupied": occupied,
        "available": available,
        "overcrowded": overcrowded,
        "free_beds": free,
        "target": target,
        "no_free_bed_applies": applies,
    }
    assert pressure_level(**kw) == assess(**kw).level  # type: ignore[arg-type]
