"""Target values: Erlang-B, the size-adjusted target and how targets combine."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.targets import (
    TARGETS_FILE,
    TargetConfig,
    erlang_b,
    load_targets,
    size_adjusted_target,
    target_for,
)
from schemas.types import CareType


def erlang_b_by_definition(servers: int, load: float) -> float:
    """(A^N / N!) / sum_k A^k / k!: the textbook formula, for small N only."""
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return terms[-1] / sum(terms)


@pytest.mark.parametrize(
    ("servers", "load", "blocking"),
    [
        (0, 3.0, 1.0),
        (1, 1.0, 0.5),
        (2, 1.0, 0.2),
        (10, 5.0, 0.018385),  # tables: B(10, 5 E) = 1.84 %
        (100, 80.0, 0.004),  # tables: B(100, 80 E) = 0.4 %
    ],
)
def test_erlang_b_known_values(servers: int, load: float, blocking: float) -> None:
    assert erlang_b(servers, load) == pytest.approx(blocking, abs=5e-5 if blocking < 0.1 else 1e-9)


@given(servers=st.integers(0, 60), load=st.floats(0.0, 80.0))
def test_recurrence_equals_the_definition(servers: int, load: float) -> None:
    assert erlang_b(servers, load) == pytest.approx(erlang_b_by_definition(servers, load))


def test_erlang_b_is_stable_for_large_pools() -> None:
    # The factorial formula overflows here; the recurrence does not.
    assert 0.0 < erlang_b(5000, 5000.0) < 0.02


@pytest.mark.parametrize(
    ("beds", "target"),
    # DOMAIN.md: at a 5 % chance of being full, 10 beds ≈ 59 %, 20 ≈ 72 %, 50 ≈ 85 %,
    # 100 ≈ 91 %, 200 ≈ 94 %. Carried load per bed reproduces these (within rounding).
    [(10, 0.59), (20, 0.72), (50, 0.85), (100, 0.91), (200, 0.94)],
)
def test_size_adjusted_target_matches_domain(beds: int, target: float) -> None:
    assert size_adjusted_target(beds, 0.05) == pytest.approx(target, abs=0.01)


def test_size_adjusted_target_is_carried_load_at_the_risk() -> None:
    occupancy = size_adjusted_target(30, 0.05)
    # Recover the offered load: occupancy × beds = A (1 - B(N, A)).
    low, high = 0.0, 60.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if mid * (1 - erlang_b(30, mid)) < occupancy * 30 else (low, mid)
    assert erlang_b(30, low) == pytest.approx(0.05, abs=1e-6)


@given(beds=st.integers(1, 400), risk=st.sampled_from([0.01, 0.02, 0.05, 0.1]))
def test_bigger_pools_and_higher_risks_allow_higher_occupancy(beds: int, risk: float) -> None:
    target = size_adjusted_target(beds, risk)
    assert 0.0 < target < 1.0
    assert size_adjusted_target(beds + 1, risk) > target
    assert size_adjusted_target(beds, risk * 1.5) > target


def test_empty_pool_and_bad_risk() -> None:
    assert size_adjusted_target(0, 0.05) == 0.0
    with pytest.raises(ValueError, match="risk"):
        size_adjusted_target(10, 0.0)


CONFIG = TargetConfig(sparse_regions=frozenset({"23"}))


@pytest.mark.parametrize(
    ("care_type", "beds", "region", "expected"),
    [
        # Large pools: the care type's target (policy), nothing else.
        (CareType.SOMATIC_ACUTE, 1000, "01", 0.85),
        (CareType.SOMATIC_PLANNED, 1000, "01", 0.95),
        (CareType.INTENSIVE_CARE, 1000, "01", 0.80),
        (CareType.PSYCHIATRY, 1000, "01", 0.85),
        (CareType.PAEDIATRIC, 1000, "01", 0.80),
        ("all", 1000, "01", 0.85),
        # Small pools: Erlang-B at 5 % is lower than policy and wins.
        (CareType.SOMATIC_ACUTE, 20, "01", 0.7243),
        (CareType.INTENSIVE_CARE, 10, "01", 0.5905),
        # Planned care is booked, not random: no size adjustment.
        (CareType.SOMATIC_PLANNED, 10, "01", 0.95),
        # Sparse region: 3 points lower, after the size adjustment.
        (CareType.SOMATIC_ACUTE, 1000, "23", 0.82),
        (CareType.SOMATIC_ACUTE, 20, "23", 0.6943),
        # The nation has no geography; a tiny pool never goes below the floor.
        (CareType.SOMATIC_ACUTE, 1000, None, 0.85),
        (CareType.INTENSIVE_CARE, 4, "23", 0.5),
        # No beds: nothing to size-adjust.
        (CareType.SOMATIC_ACUTE, 0, "01", 0.85),
    ],
)
def test_target_for(
    care_type: CareType | str, beds: int, region: str | None, expected: float
) -> None:
    assert target_for(CONFIG, care_type, beds, region) == pytest.approx(expected, abs=1e-4)  # type: ignore[arg-type]


def test_per_region_adjustment_replaces_the_sparse_one() -> None:
    config = TargetConfig.model_validate(
        {"sparse_regions": {"23"}, "geography": {"regions": {"23": -0.05, "01": 0.02}}}
    )
    assert target_for(config, CareType.SOMATIC_ACUTE, 1000, "23") == pytest.approx(0.80)
    assert target_for(config, CareType.SOMATIC_ACUTE, 1000, "01") == pytest.approx(0.87)
    assert target_for(config, CareType.SOMATIC_PLANNED, 1000, "01") == 0.97


def test_size_adjustment_can_be_switched_off() -> None:
    config = TargetConfig.model_validate({"size_adjustment": {"enabled": False}})
    assert target_for(config, CareType.INTENSIVE_CARE, 6, "01") == pytest.approx(0.80)


def test_the_targets_file_loads_with_sparse_regions_from_the_reference_data() -> None:
    config = load_targets()
    assert config.version == 1
    assert config.care_types[CareType.SOMATIC_ACUTE] == 0.85
    assert config.size_adjustment.risk == 0.05
    assert config.sparse_regions == {"09", "20", "22", "23", "24", "25"}
    assert config == TargetConfig(sparse_regions=config.sparse_regions)  # defaults = file


def _write(tmp_path: Path, **changes: object) -> Path:
    content = yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8"))
    content.update(changes)
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 2}, "version"),
        ({"care_types": {"somatic_acute": 0.85}}, "care_types lacks"),
        ({"care_types": {**dict.fromkeys([c.value for c in CareType], 0.8), "icu": 0.8}}, "icu"),
        ({"minimum_target": 1.5}, "minimum_target"),
        ({"size_adjustment": {"risk": 0}}, "risk"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_targets_file_is_refused(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        load_targets(_write(tmp_path, **changes), sparse_regions=frozenset())


def test_sparse_regions_come_from_the_reference_data_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"regions\.csv"):
        load_targets(_write(tmp_path, sparse_regions=["01"]), sparse_regions=frozenset())


def _offered_load_by_bisection(beds: int, risk: float) -> float:
    low, high = 0.0, beds / (1.0 - risk) + 1.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (low, mid) if erlang_b(beds, mid) > risk else (mid, high)
    return low


@given(beds=st.integers(1, 1000), risk=st.sampled_from([0.01, 0.05, 0.1, 0.3]))
def test_newtons_target_is_the_bisections(beds: int, risk: float) -> None:
    offered = _offered_load_by_bisection(beds, risk)
    expected = offered * (1 - erlang_b(beds, offered)) / beds
    assert size_adjusted_target(beds, risk) == pytest.approx(expected, rel=1e-9)
