"""CoreConfig: defaults, from Settings, and refusal of inconsistent values."""

from __future__ import annotations

import pytest

from capmon.settings import Settings
from streams.core.config import CoreConfig


def test_defaults_match_the_domain() -> None:
    c = CoreConfig()
    assert (c.alert_hold_s, c.alert_clear_margin) == (600, 0.02)
    assert (c.pressure.critical_occupancy, c.pressure.severe_occupancy) == (1.0, 1.10)
    assert c.pressure.critical_overcrowded_per_100 == 3.0


def test_from_settings() -> None:
    s = Settings(lateness_seconds=1800, alert_hold_seconds=120, alert_clear_margin_pp=3.0)
    c = CoreConfig.from_settings(s)
    assert (c.lateness_s, c.alert_hold_s, c.alert_clear_margin) == (1800, 120, pytest.approx(0.03))
    assert CoreConfig.from_settings(s, fine_bucket_s=600).fine_bucket_s == 600


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lateness_s": -1},
        {"fine_bucket_s": 0},
        {"fine_bucket_s": 700},  # does not divide the coarse bucket nor the hour
        {"coarse_bucket_s": 7 * 3600},  # does not divide 24 h
        {"alert_hold_s": -5},
        {"alert_clear_margin": -0.1},
    ],
)
def test_inconsistent_values_are_refused(kwargs: dict[str, int | float]) -> None:
    with pytest.raises(ValueError):
        CoreConfig(**kwargs)  # type: ignore[arg-type]
