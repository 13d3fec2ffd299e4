"""A simulated day (and week) of the whole country lands in the ranges DOMAIN.md gives."""

from __future__ import annotations

from collections import Counter, defaultdict

from schemas.reference import ReferenceData
from schemas.types import CareType
from simulator.clock import LocalCalendar
from tests.simulator.conftest import SimulatedRun

CALENDAR = LocalCalendar()


def _census(run: SimulatedRun) -> list[tuple[int, dict[str, object]]]:
    return [
        (e.ts, e.payload)
        for e in run.emissions
        if isinstance(e.payload, dict) and e.payload["type"] == "census"
    ]


def _per_100(rows: list[dict[str, object]], field: str) -> float:
    available = sum(int(str(r["available_beds"])) for r in rows)
    return 100 * sum(int(str(r[field])) for r in rows) / available


def _at_six(run: SimulatedRun) -> list[dict[str, object]]:
    """Each ward's last census before 06:00 local, every morning: SKR's morning count."""
    interval = run.sim.slot_s * run.sim.slots_per_census
    rows = []
    for ts, p in _census(run):
        if CALENDAR.local_hour(ts).hour == 5 and ts % 3600 >= 3600 - interval:
            rows.append(p)
    return rows


def test_time_weighted_occupancy_by_care_type(
    national_day: SimulatedRun, national_reference: ReferenceData
) -> None:
    occupied: Counter[CareType] = Counter()
    available: Counter[CareType] = Counter()
    for _, p in _census(national_day):
        care = national_reference.wards[str(p["ward_id"])].care_type
        occupied[care] += int(str(p["occupied"]))
        available[care] += int(str(p["available_beds"]))
    occupancy = {care: occupied[care] / available[care] for care in available}
    assert 0.90 <= occupancy[CareType.SOMATIC_ACUTE] <= 1.05, occupancy
    assert 0.65 <= occupancy[CareType.INTENSIVE_CARE] <= 0.95, occupancy
    assert 0.75 <= occupancy[CareType.SOMATIC_PLANNED] <= 1.0, occupancy
    assert 0.85 <= sum(occupied.values()) / sum(available.values()) <= 1.02


def test_overcrowded_and_outlying_per_100_beds_at_six(national_week: SimulatedRun) -> None:
    rows = _at_six(national_week)
    assert len(rows) == 7 * len(national_week.sim.wards)
    # SKR, April 2024: 5.9 overcrowded and 1.4 outlying per 100 available beds (the
    # mornings of a week: Monday, after the weekend, is the worst, Tuesday the best).
    assert 4.0 <= _per_100(rows, "overcrowded") <= 7.5
    assert 0.9 <= _per_100(rows, "outlying_hosted") <= 2.0


def test_one_morning_in_a_plausible_range(national_day: SimulatedRun) -> None:
    rows = _at_six(national_day)
    assert len(rows) == len(national_day.sim.wards)
    assert 2.5 <= _per_100(rows, "overcrowded") <= 9.0
    assert 0.5 <= _per_100(rows, "outlying_hosted") <= 2.5


def test_regions_differ_skane_high_kalmar_low(
    national_day: SimulatedRun, national_reference: ReferenceData
) -> None:
    by_region: dict[str, list[dict[str, object]]] = defaultdict(list)
    for _, p in _census(national_day):
        by_region[national_reference.region_of(str(p["ward_id"])).code].append(p)
    per_100 = {code: _per_100(rows, "overcrowded") for code, rows in by_region.items()}
    assert len(per_100) == 21
    assert per_100["12"] > per_100["08"] + 2, per_100
    assert per_100["08"] < sorted(per_100.values())[10], "Kalmar should be below the median"


def test_admissions_peak_late_morning_and_discharges_in_the_afternoon(
    national_day: SimulatedRun,
) -> None:
    admissions: Counter[int] = Counter()
    discharges: Counter[int] = Counter()
    for e in national_day.emissions:
        p = e.payload
        if isinstance(p, dict) and p["type"] == "movement":
            hour = CALENDAR.local_hour(e.ts).hour
            if p["action"] == "admit":
                admissions[hour] += 1
            elif p["action"] == "discharge":
                discharges[hour] += 1
    peak_admissions = max(admissions, key=admissions.__getitem__)
    peak_discharges = max(discharges, key=discharges.__getitem__)
    assert 9 <= peak_admissions <= 12, admissions
    assert 13 <= peak_discharges <= 16, discharges
    assert admissions[10] > 3 * admissions[4]


def test_fewer_planned_admissions_at_weekends(national_week: SimulatedRun) -> None:
    planned: Counter[int] = Counter()
    unplanned: Counter[int] = Counter()
    for e in national_week.emissions:
        p = e.payload
        if isinstance(p, dict) and p.get("action") == "admit":
            weekday = CALENDAR.local_hour(e.ts).weekday
            (planned if p["planned"] else unplanned)[weekday] += 1
    assert len(planned) == 7
    weekday_mean = sum(planned[d] for d in range(5)) / 5
    weekend_mean = (planned[5] + planned[6]) / 2
    assert weekend_mean < 0.4 * weekday_mean, planned
    # Emergencies do not take weekends off.
    assert min(unplanned.values()) > 0.8 * max(unplanned.values()), unplanned


def test_a_day_of_the_whole_country(national_day: SimulatedRun) -> None:
    kinds = Counter(
        e.payload["type"] for e in national_day.emissions if isinstance(e.payload, dict)
    )
    wards = len(national_day.sim.wards)
    assert kinds["census"] == wards * 96 + wards  # every 15 minutes, plus the opening census
    assert kinds["movement"] > 8_000
    assert kinds["capacity"] > 100
    assert "heartbeat" not in kinds  # switched off for this run
