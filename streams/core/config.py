"""Tuning of the pure core: lateness, bucket sizes, alert hold and margin, pressure thresholds.

Built from ``capmon.settings.Settings`` by the wiring (``CoreConfig.from_settings``) or left
at the defaults in tests. Frozen and slotted: it is read on every event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capmon.settings import Settings

# The three trailing windows of the message contract (Measures.occupancy_1h/_24h/_7d).
WINDOW_1H_S = 3600
WINDOW_24H_S = 24 * 3600
WINDOW_7D_S = 7 * 24 * 3600
WINDOWS_S: tuple[int, int, int] = (WINDOW_1H_S, WINDOW_24H_S, WINDOW_7D_S)


@dataclass(frozen=True, slots=True)
class PressureThresholds:
    """Triggers of the pressure levels (DOMAIN.md, "Pressure levels and alerts").

    Level 2 is "above the target", whose value comes per scope from the targets.
    Occupancies are fractions (1.0 = 100 %), overcrowding is per 100 available beds.
    """

    critical_occupancy: float = 1.0
    critical_overcrowded_per_100: float = 3.0
    severe_occupancy: float = 1.10
    # "No free bed of the care type in the region" makes a region (or the nation) severe.
    severe_when_no_free_bed: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.critical_occupancy <= self.severe_occupancy:
            raise ValueError("need 0 < critical_occupancy <= severe_occupancy")
        if self.critical_overcrowded_per_100 < 0:
            raise ValueError("critical_overcrowded_per_100 must be >= 0")


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """All knobs of the pure core, in seconds and fractions."""

    # Events older than (watermark - lateness) are rejected as too_late; time before
    # that point is final (its buckets never change again).
    lateness_s: int = 6 * 3600
    # Finalised patient-time and bed-time: fine buckets cover the last coarse bucket's
    # length before the final point (serves the 1 h window at any lateness), coarse
    # buckets cover the longest window (7 d). coarse must be a multiple of fine.
    fine_bucket_s: int = 300
    coarse_bucket_s: int = 3600
    # Alerts: the level must hold this long (event time) before an alert changes state,
    # and an alert clears only below its trigger minus the margin (a fraction: 0.02 = 2 pp).
    alert_hold_s: int = 600
    alert_clear_margin: float = 0.02
    # The same hysteresis for the overcrowded-per-100 trigger, in per-100 units.
    alert_clear_margin_per_100: float = 1.0
    pressure: PressureThresholds = field(default_factory=PressureThresholds)

    def __post_init__(self) -> None:
        if self.lateness_s < 0:
            raise ValueError("lateness_s must be >= 0")
        if self.fine_bucket_s <= 0 or self.coarse_bucket_s <= 0:
            raise ValueError("bucket sizes must be positive")
        if self.coarse_bucket_s % self.fine_bucket_s:
            raise ValueError("coarse_bucket_s must be a multiple of fine_bucket_s")
        if WINDOW_1H_S % self.fine_bucket_s or WINDOW_24H_S % self.coarse_bucket_s:
            raise ValueError("fine buckets must divide 1 h and coarse buckets 24 h")
        if self.alert_hold_s < 0:
            raise ValueError("alert_hold_s must be >= 0")
        if self.alert_clear_margin < 0 or self.alert_clear_margin_per_100 < 0:
            raise ValueError("clear margins must be >= 0")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> CoreConfig:
        """The configuration the worker runs with; ``overrides`` win over the settings."""
        values: dict[str, object] = {
            "lateness_s": settings.lateness_seconds,
            "alert_hold_s": settings.alert_hold_seconds,
            "alert_clear_margin": settings.alert_clear_margin_pp / 100.0,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
