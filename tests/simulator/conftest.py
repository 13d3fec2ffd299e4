"""Fixtures of the simulator's tests: a tiny reference set and the real one, and shared runs.

Simulating the whole country costs seconds, so the realism tests share one simulated
day (and one week with hourly reports) per session.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from schemas.reference import Hospital, ReferenceData, Region, Ward, load_reference
from schemas.types import CareType
from simulator.emission import Emission
from simulator.model import Simulation

# Monday 13 January 2025, 00:00 in Stockholm: a working week in influenza season.
MONDAY = datetime(2025, 1, 12, 23, 0, tzinfo=UTC)
MONDAY_S = int(MONDAY.timestamp())
DAY_S = 24 * 3600


def _ward(ward_id: str, hospital_id: str, care: CareType, specialty: str, beds: int) -> Ward:
    return Ward(
        ward_id=ward_id,
        hospital_id=hospital_id,
        name=f"Avdelning {ward_id[-4:]}",
        care_type=care,
        specialty=specialty,
        physical_beds=beds + 2,
        typical_available_beds=beds,
        reporting_interval_s=900,
    )


def tiny() -> ReferenceData:
    """Two regions, three hospitals, nine wards: every care type and a surgical ward."""
    regions = [
        Region(code="08", letters="H", name="Region Kalmar län", population=247_000, sparse=False),
        Region(code="12", letters="M", name="Region Skåne", population=1_415_000, sparse=False),
    ]
    hospitals = [
        Hospital(hospital_id="SE2321000008-H101", name="Länssjukhuset i Kalmar",
                 region_code="08", emergency=True),
        Hospital(hospital_id="SE2321000012-H201", name="Skånes universitetssjukhus Lund",
                 region_code="12", emergency=True),
        Hospital(hospital_id="SE2321000012-H202", name="Trelleborgs lasarett",
                 region_code="12", emergency=False),
    ]  # fmt: skip
    wards = [
        _ward("SE2321000008-H101MED1", "SE2321000008-H101", CareType.SOMATIC_ACUTE,
              "internal_medicine", 24),
        _ward("SE2321000008-H101KIR1", "SE2321000008-H101", CareType.SOMATIC_ACUTE, "surgery", 20),
        _ward("SE2321000008-H101IVA1", "SE2321000008-H101", CareType.INTENSIVE_CARE,
              "intensive_care", 8),
        _ward("SE2321000012-H201MED1", "SE2321000012-H201", CareType.SOMATIC_ACUTE,
              "internal_medicine", 28),
        _ward("SE2321000012-H201ORT1", "SE2321000012-H201", CareType.SOMATIC_ACUTE,
              "orthopaedics", 22),
        _ward("SE2321000012-H201PLA1", "SE2321000012-H201", CareType.SOMATIC_PLANNED,
              "planned_surgery", 16),
        _ward("SE2321000012-H201BAR1", "SE2321000012-H201", CareType.PAEDIATRIC, "paediatrics", 12),
        _ward("SE2321000012-H201IVA1", "SE2321000012-H201", CareType.INTENSIVE_CARE,
              "intensive_care", 10),
        _ward("SE2321000012-H202PSY1", "SE2321000012-H202", CareType.PSYCHIATRY,
              "general_psychiatry", 18),
    ]  # fmt: skip
    return ReferenceData.from_records(regions, hospitals, wards)


@pytest.fixture(scope="session")
def tiny_reference() -> ReferenceData:
    return tiny()


@pytest.fixture(scope="session")
def national_reference() -> ReferenceData:
    return load_reference()


def run_for(sim: Simulation, seconds: int, step_s: int = 3600) -> list[Emission]:
    out: list[Emission] = []
    end = sim.start + seconds
    while sim.now < end:
        out.extend(sim.advance(min(sim.now + step_s, end)))
    return out


@dataclass(frozen=True)
class SimulatedRun:
    sim: Simulation
    emissions: list[Emission]


@pytest.fixture(scope="session")
def national_day(national_reference: ReferenceData) -> SimulatedRun:
    """A normal Tuesday for the whole country, without heartbeats (they carry no numbers;
    the tiny set's tests check them)."""
    gc.disable()
    try:
        sim = Simulation(
            national_reference,
            seed=7,
            scenario="normal",
            start=MONDAY_S + DAY_S,
            heartbeat_interval_s=900,
        )
        run = SimulatedRun(sim, run_for(sim, DAY_S))
    finally:
        gc.enable()
    return run


@pytest.fixture(scope="session")
def national_week(national_reference: ReferenceData) -> SimulatedRun:
    """A normal week for the whole country, hourly census and no heartbeats (movements
    are what the weekly tests look at)."""
    gc.disable()
    try:
        sim = Simulation(
            national_reference,
            seed=11,
            scenario="normal",
            start=MONDAY_S,
            census_interval_s=3600,
            heartbeat_interval_s=3600,
        )
        run = SimulatedRun(sim, run_for(sim, 7 * DAY_S, step_s=6 * 3600))
    finally:
        gc.enable()
    return run
