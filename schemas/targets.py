"""Target values (riktvärden) for occupancy, and the pure function that gives a scope's target.

How the parts combine (DOMAIN.md, "Target values"):

    target = clamp(min(care_type_target, size_adjusted_target(beds, risk)) + geography,
                   minimum_target, 1.0)

- ``care_type_target`` is the policy value for a large pool (85 % acute, 95 % planned, ...).
- ``size_adjusted_target`` is what queueing theory allows a pool of ``beds`` beds: the
  highest occupancy at which it is full at most ``risk`` of the time. A large pool is
  not held to a *higher* target than policy (hence ``min``), and a small pool is not
  held to policy it cannot meet. Planned care is excluded by default: booked
  admissions are not the random arrivals the loss model assumes.
- ``geography`` (negative) is added last: a sparse region's patients have no nearby
  hospital to go to when a pool is full, whatever its size.
- ``minimum_target`` keeps a tiny pool (a 4-bed ICU's Erlang value is about 35 %) from a
  target no ward could work to.

Size adjustment, precisely: with Poisson arrivals of offered load ``A`` (in beds) on
``N`` beds, the Erlang-B formula ``B(N, A)`` is the share of time all beds are full (and,
by PASTA, the share of arrivals turned away). Occupancy is the *carried* load per bed,
``A (1 - B) / N``. At risk 5 % this gives 10 beds 59.0 %, 20 beds 72.4 %, 50 beds 84.6 %,
100 beds 90.5 %, 200 beds 94.3 %: DOMAIN.md's figures (the offered load per bed,
``A / N``, would give 62/76/89/95/99 % instead).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.types import ALL_CARE_TYPES, CareType, RegionCode

TARGETS_FILE = Path(__file__).resolve().parent / "data" / "targets.yaml"

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Adjustment = Annotated[float, Field(ge=-0.5, le=0.5)]


class SizeAdjustment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    risk: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        default=0.05, description="Accepted share of time a pool is full (Erlang-B blocking)."
    )
    care_types: frozenset[CareType] = Field(
        default=frozenset(
            {
                CareType.SOMATIC_ACUTE,
                CareType.INTENSIVE_CARE,
                CareType.PSYCHIATRY,
                CareType.PAEDIATRIC,
            }
        ),
        description="Care types whose target is size-adjusted (not planned care by default).",
    )


class GeographyAdjustment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sparse_adjustment: Adjustment = Field(
        default=-0.03, description="Added to the target in sparse regions."
    )
    regions: dict[RegionCode, Adjustment] = Field(
        default_factory=dict,
        description="Per-region adjustment by region code; replaces sparse_adjustment there.",
    )


def _default_care_types() -> dict[CareType, float]:
    return {
        CareType.SOMATIC_ACUTE: 0.85,
        CareType.SOMATIC_PLANNED: 0.95,
        CareType.INTENSIVE_CARE: 0.80,
        CareType.PSYCHIATRY: 0.85,
        CareType.PAEDIATRIC: 0.80,
    }


class TargetConfig(BaseModel):
    """The content of ``schemas/data/targets.yaml`` (version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    care_types: dict[CareType, Share] = Field(default_factory=_default_care_types)
    all_care_types: Share = Field(
        default=0.85, description="Target of a rollup over every care type ('all')."
    )
    size_adjustment: SizeAdjustment = Field(default_factory=SizeAdjustment)
    geography: GeographyAdjustment = Field(default_factory=GeographyAdjustment)
    sparse_regions: frozenset[RegionCode] = Field(
        default=frozenset(),
        description="Regions the sparse adjustment applies to. Not written in the file: "
        "load_targets fills it from the reference data (regions.csv, sparse=true), the "
        "one place that says which regions are sparse.",
    )
    minimum_target: Share = 0.5

    @model_validator(mode="after")
    def _every_care_type(self) -> TargetConfig:
        missing = set(CareType) - set(self.care_types)
        if missing:
            raise ValueError(f"care_types lacks {sorted(missing)}")
        return self


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang-B blocking probability B(N, A) by the stable recurrence
    B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)) (no factorials, no overflow)."""
    if servers < 0 or offered_load < 0:
        raise ValueError("servers and offered_load must be non-negative")
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = offered_load * blocking / (n + offered_load * blocking)
    return blocking


@lru_cache(maxsize=8192)
def size_adjusted_target(beds: int, risk: float = 0.05) -> float:
    """Highest occupancy (carried load per bed) of a ``beds``-bed pool whose Erlang-B
    blocking stays at or below ``risk``. 0 for an empty pool."""
    if not 0.0 < risk < 1.0:
        raise ValueError("risk must be in (0, 1)")
    if beds <= 0:
        return 0.0
    offered = _offered_load_at(beds, risk)
    return offered * (1.0 - erlang_b(beds, offered)) / beds


def _offered_load_at(beds: int, risk: float) -> float:
    """The offered load A with B(beds, A) = risk, by Newton's method on B(N, A) - risk
    (dB/dA = B·(N/A - 1 + B)) kept inside a bisection bracket: each step costs one O(N)
    recurrence, and a bed count the worker has not met before (pools change size with
    every capacity change) costs about 6 of them instead of bisection's 30."""
    # B(N, A) increases with A, and A never exceeds N / (1 - risk) + 1 at this risk.
    low, high = 0.0, beds / (1.0 - risk) + 1.0
    offered = float(beds)
    for _ in range(100):
        blocking = erlang_b(beds, offered)
        if blocking > risk:
            high = offered
        else:
            low = offered
        slope = blocking * (beds / offered - 1.0 + blocking)
        step = offered - (blocking - risk) / slope if slope > 0 else low
        if abs(step - offered) < 1e-12 * beds or high - low < 1e-12 * beds:
            return step
        if not low < step < high:
            step = (low + high) / 2  # Newton left the bracket: bisect once
        offered = step
    return low


def target_for(
    config: TargetConfig,
    care_type: CareType | Literal["all"],
    beds: int,
    region_code: str | None,
) -> float:
    """Occupancy target (0..1) for a pool of ``beds`` available beds of ``care_type``
    in region ``region_code`` (``None`` for the nation: no geography adjustment).

    ``care_type`` ``"all"`` (a rollup over every care type) uses ``all_care_types`` and
    the size adjustment, as an unplanned pool of that size would.
    """
    if care_type == ALL_CARE_TYPES:
        target = config.all_care_types
        adjust_size = config.size_adjustment.enabled
    else:
        kind = CareType(care_type)
        target = config.care_types[kind]
        adjust_size = config.size_adjustment.enabled and kind in config.size_adjustment.care_types
    if adjust_size and beds > 0:
        target = min(target, size_adjusted_target(beds, config.size_adjustment.risk))
    target += geography_adjustment(config, region_code)
    # Rounded: 0.95 + 0.02 should read 0.97 wherever the target is shown.
    return round(min(1.0, max(config.minimum_target, target)), 6)


def geography_adjustment(config: TargetConfig, region_code: str | None) -> float:
    if region_code is None:
        return 0.0
    if region_code in config.geography.regions:
        return config.geography.regions[region_code]
    if region_code in config.sparse_regions:
        return config.geography.sparse_adjustment
    return 0.0


def load_targets(
    path: Path | None = None, *, sparse_regions: frozenset[str] | None = None
) -> TargetConfig:
    """Load and validate the targets file (default ``schemas/data/targets.yaml``).

    ``sparse_regions`` defaults to the regions marked sparse in the reference data.
    """
    source = TARGETS_FILE if path is None else path
    with source.open(encoding="utf-8") as handle:
        content = yaml.safe_load(handle)
    if not isinstance(content, dict):
        raise ValueError(f"{source}: expected a mapping at the top level")
    if "sparse_regions" in content:
        raise ValueError(f"{source}: sparse_regions comes from regions.csv, not this file")
    if sparse_regions is None:
        from schemas.reference import load_reference  # only the loader touches the CSVs

        reference = load_reference()
        sparse_regions = frozenset(r.code for r in reference.regions.values() if r.sparse)
    return TargetConfig.model_validate({**content, "sparse_regions": sparse_regions})
