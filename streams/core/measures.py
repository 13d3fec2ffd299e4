"""The measures of DOMAIN.md computed from one additive vector of integers.

A ward and a rollup are described by the same ``Vector``: counts, window integrals and a
few bookkeeping sums, all integers, all additive. A rollup is the element-wise sum of its
children's vectors, and every ratio is computed from the sums at the end (ratio of sums,
never an average of ratios):

- occupancy = occupied / available_beds
- overcrowded (outlying) per 100 = overcrowded (outlying_hosted) / available_beds * 100
- time-weighted occupancy over W = patient_seconds(W) / bed_seconds(W)
- free_after_pending = available - occupied - pending_admissions + expected_discharges_24h
- reporting coverage = wards_reporting / ward_count
- the bed-weighted target of a mixed scope = sum(target * available) / sum(available)

Ratios are ``None`` when the denominator is zero.
"""

from __future__ import annotations

from typing import Any, Final

from streams.core.config import WINDOWS_S

__all__ = [
    "VECTOR_FIELDS",
    "VECTOR_LEN",
    "counts_dict",
    "measures_dict",
    "ratio",
    "weighted_target",
]

VECTOR_FIELDS: Final = (
    "ward_count",
    "wards_reporting",
    "available_beds",
    "occupied",
    "free_beds",
    "overcrowded",
    "outlying_hosted",
    "placed_elsewhere",
    "pending_admissions",
    "expected_discharges_24h",
    "physical_beds",
    "physical_beds_known",
    "surge_beds_24h",
    "surge_beds_24h_known",
    "surge_beds_72h",
    "surge_beds_72h_known",
    "patient_seconds_1h",
    "bed_seconds_1h",
    "patient_seconds_24h",
    "bed_seconds_24h",
    "patient_seconds_7d",
    "bed_seconds_7d",
    "target_weight",  # round(target * TARGET_SCALE) * available_beds
)
VECTOR_LEN: Final = len(VECTOR_FIELDS)
(
    WARD_COUNT,
    WARDS_REPORTING,
    AVAILABLE,
    OCCUPIED,
    FREE,
    OVERCROWDED,
    OUTLYING,
    PLACED_ELSEWHERE,
    PENDING,
    EXPECTED_DISCHARGES,
    PHYSICAL,
    PHYSICAL_KNOWN,
    SURGE_24H,
    SURGE_24H_KNOWN,
    SURGE_72H,
    SURGE_72H_KNOWN,
    P_1H,
    B_1H,
    P_24H,
    B_24H,
    P_7D,
    B_7D,
    TARGET_WEIGHT,
) = range(VECTOR_LEN)
TARGET_SCALE: Final = 10_000  # targets travel as basis points so the weighted sum stays exact


def ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def per_100(num: int, den: int) -> float | None:
    return num * 100.0 / den if den > 0 else None


def weighted_target(vec: tuple[int, ...] | list[int]) -> float | None:
    """Bed-weighted mean target of the wards summed in ``vec`` (None without beds)."""
    beds = vec[AVAILABLE]
    return vec[TARGET_WEIGHT] / (beds * TARGET_SCALE) if beds > 0 else None


def counts_dict(vec: tuple[int, ...] | list[int]) -> dict[str, Any]:
    """``schemas.messages.Counts`` as a plain dict."""
    return {
        "available_beds": vec[AVAILABLE],
        "occupied": vec[OCCUPIED],
        "free_beds": vec[FREE],
        "overcrowded": vec[OVERCROWDED],
        "outlying_hosted": vec[OUTLYING],
        "placed_elsewhere": vec[PLACED_ELSEWHERE],
        "pending_admissions": vec[PENDING],
        "expected_discharges_24h": vec[EXPECTED_DISCHARGES],
        "physical_beds": vec[PHYSICAL] if vec[PHYSICAL_KNOWN] else None,
        "surge_beds_24h": vec[SURGE_24H] if vec[SURGE_24H_KNOWN] else None,
        "surge_beds_72h": vec[SURGE_72H] if vec[SURGE_72H_KNOWN] else None,
    }


def _window(window_s: int, p: int, b: int) -> dict[str, Any]:
    return {
        "window_s": window_s,
        "patient_seconds": float(p),
        "bed_seconds": float(b),
        "occupancy": p / b if b > 0 else None,
    }


def measures_dict(vec: tuple[int, ...] | list[int]) -> dict[str, Any]:
    """``schemas.messages.Measures`` as a plain dict."""
    available = vec[AVAILABLE]
    w1, w24, w7 = WINDOWS_S
    return {
        "occupancy": vec[OCCUPIED] / available if available > 0 else None,
        "free_after_pending": available - vec[OCCUPIED] - vec[PENDING] + vec[EXPECTED_DISCHARGES],
        "overcrowded_per_100": per_100(vec[OVERCROWDED], available),
        "outlying_per_100": per_100(vec[OUTLYING], available),
        "occupancy_1h": _window(w1, vec[P_1H], vec[B_1H]),
        "occupancy_24h": _window(w24, vec[P_24H], vec[B_24H]),
        "occupancy_7d": _window(w7, vec[P_7D], vec[B_7D]),
    }
