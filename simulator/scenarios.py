"""Named scenarios: what is different from an ordinary day, as data.

A scenario only changes parameters of the one model (demand, stays, closures, scripted
events); ``ScenarioOptions`` picks the where and when (which region has the incident,
which hospital falls silent) so tests and the demo can aim them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.clock import HOUR


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    unplanned_factor: float = 1.0  # unplanned admissions relative to normal
    planned_factor: float = 1.0  # booked admissions relative to normal
    los_factor: float = 1.0  # length of stay relative to normal
    surge_open_factor: float = 1.0  # readiness to open extra beds when overcrowded
    seasonal_closure_share: float = 0.0  # share of available beds closed for the season
    major_incident: bool = False
    silent_hospital: bool = False
    bad_input_share: float = 0.0  # bad events per valid event


@dataclass(frozen=True, slots=True)
class ScenarioOptions:
    """Where and when scripted things happen; ``None`` lets the model choose (by seed)."""

    incident_region: str | None = None
    incident_after_s: int = HOUR  # after the start of the run
    casualties: int | None = None  # default scales with the region's population
    silent_hospital: str | None = None
    silent_after_s: int = HOUR
    bad_input_share: float | None = None  # overrides the scenario's share
    lateness_s: int = 6 * HOUR  # the pipeline's lateness limit: too-late events go beyond it
    regions: tuple[str, ...] = field(default=())  # simulate only these regions (empty: all)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("normal", "an ordinary week: daily rhythm, night closures, weekend dip"),
        Scenario(
            "winter-surge",
            "influenza season: more unplanned admissions, longer stays, fewer booked ones",
            unplanned_factor=1.18,
            planned_factor=0.85,
            los_factor=1.1,
            surge_open_factor=2.0,
        ),
        Scenario(
            "summer-closures",
            "summer: a share of beds closed for lack of staff, booked care scaled down",
            unplanned_factor=0.95,
            planned_factor=0.45,
            seasonal_closure_share=0.16,
        ),
        Scenario(
            "major-incident",
            "a mass-casualty event in one region: sudden acute and ICU admissions, surge beds",
            major_incident=True,
        ),
        Scenario(
            "silent-hospital",
            "one hospital's systems stop sending after a while",
            silent_hospital=True,
        ),
        Scenario(
            "bad-input",
            "malformed, invalid, duplicate, late and personal-data events mixed in",
            bad_input_share=0.03,
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise ValueError(f"unknown scenario {name!r}; known: {known}") from None
