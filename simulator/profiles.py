"""The numbers the model steers by: stays, daily rhythms, regional pressure.

Calibrated so that a simulated day lands in the ranges DOMAIN.md gives (occupancy about
90-100 % in acute somatic care, about 5-6 overcrowded and 1.4 outlying patients per 100
available beds nationally, Skåne high and Kalmar low). The regional factors are
illustrative, chosen to reproduce the spread SKR reports (2019: Skåne 7.6, Kalmar 0.5
overcrowded per 100), not official figures per region.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from schemas.types import CareType


@dataclass(frozen=True, slots=True)
class CareProfile:
    """How stays on one care type behave."""

    mean_los_days: float  # mean length of stay on this ward
    los_sigma: float  # lognormal shape: a long right tail (a few very long stays)
    occupancy: float  # mean occupied / typical available beds the demand aims at
    unplanned_share: float  # share of admissions not booked in advance
    hosts_outlying: bool  # may take other wards' patients when they are full
    night_closure_share: float  # share of wards that close a few beds at night (staffing)
    ed_wait_hours: float  # mean wait from decision to admit until a bed (pending admissions)


CARE_PROFILES: dict[CareType, CareProfile] = {
    CareType.SOMATIC_ACUTE: CareProfile(4.3, 0.85, 0.965, 0.88, True, 0.35, 1.6),
    CareType.SOMATIC_PLANNED: CareProfile(3.0, 0.70, 0.90, 0.20, True, 0.30, 1.2),
    CareType.INTENSIVE_CARE: CareProfile(2.6, 1.00, 0.74, 0.80, False, 0.0, 0.5),
    CareType.PSYCHIATRY: CareProfile(13.0, 0.90, 0.97, 0.90, False, 0.10, 2.5),
    CareType.PAEDIATRIC: CareProfile(2.3, 0.80, 0.74, 0.90, False, 0.20, 1.2),
}

# Relative demand per region (multiplies CareProfile.occupancy).
REGION_PRESSURE: dict[str, float] = {
    "01": 1.01,  # Stockholm
    "03": 1.03,  # Uppsala
    "04": 1.03,  # Sörmland
    "05": 0.98,  # Östergötland
    "06": 0.93,  # Jönköping
    "07": 0.95,  # Kronoberg
    "08": 0.87,  # Kalmar: lowest overcrowding in the country
    "09": 0.96,  # Gotland
    "10": 0.97,  # Blekinge
    "12": 1.06,  # Skåne: highest overcrowding in the country
    "13": 0.95,  # Halland
    "14": 1.02,  # Västra Götaland
    "17": 0.98,  # Värmland
    "18": 1.01,  # Örebro
    "19": 1.02,  # Västmanland
    "20": 0.99,  # Dalarna
    "21": 1.03,  # Gävleborg
    "22": 1.0,  # Västernorrland
    "23": 1.0,  # Jämtland Härjedalen
    "24": 1.01,  # Västerbotten
    "25": 1.0,  # Norrbotten
}
DEFAULT_REGION_PRESSURE = 1.0

# Hour-of-day weights (local time, index = hour).
# Decisions to admit in the emergency department: rising from 07, high until mid-afternoon;
# with the wait for a bed the admissions themselves peak late morning.
UNPLANNED_DECISION_BY_HOUR = (
    2.0, 1.5, 1.2, 1.0, 1.0, 1.2, 2.0, 3.5, 5.5, 6.8, 6.8, 6.2,
    5.6, 5.2, 5.0, 4.8, 4.5, 4.2, 4.0, 3.6, 3.2, 2.8, 2.5, 2.2,
)  # fmt: skip
# Booked admissions arrive in the morning.
PLANNED_ARRIVAL_BY_HOUR = (
    0, 0, 0, 0, 0, 0, 0, 4, 8, 9, 7, 5,
    3, 2, 1.5, 1, 0.5, 0, 0, 0, 0, 0, 0, 0,
)  # fmt: skip
# Discharges: after the morning round, mostly in the afternoon.
DISCHARGE_BY_HOUR = (
    0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.8, 2.0, 4.0, 7.0,
    9.5, 12.0, 14.0, 14.0, 11.0, 7.5, 4.5, 2.5, 1.5, 0.8, 0.4, 0.2,
)  # fmt: skip
# Intensive care moves patients on around the clock, still more by day.
ICU_DISCHARGE_BY_HOUR = (
    1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 3.0, 4.5, 6.0, 7.0,
    7.5, 7.5, 7.0, 6.5, 5.5, 4.5, 3.5, 3.0, 2.5, 2.0, 2.0, 1.5,
)  # fmt: skip

WEEKEND_PLANNED_FACTOR = 0.15  # few booked admissions on Saturday and Sunday
WEEKEND_UNPLANNED_FACTOR = 0.92
WEEKEND_DISCHARGE_POSTPONE = 0.3  # share of weekend discharges that wait until Monday
MIN_STAY_S = 3 * 3600

# Transfers and outlying placements
ICU_STEP_DOWN_SHARE = 0.8  # ICU stays end on a ward of the same hospital, not at home
ACUTE_TRANSFER_SHARE = 0.07  # acute stays continuing on another acute ward
ICU_RESPONSIBLE_ELSEWHERE = 0.3  # ICU patients whose responsible ward is a surgical ward
# A full ward places the patient on another ward rather than in its corridor.
OUTLYING_PLACEMENT_SHARE = 0.12
RETURN_HOME_SHARE = 0.8  # outlying patients moved home when a bed frees up
PLANNED_POSTPONE_SHARE = 0.5  # booked admissions postponed when the ward is full

# Capacity
NIGHT_CLOSE_HOUR = 21.0
NIGHT_REOPEN_HOUR = 7.0
MORNING_ROUND_HOUR = 9.0
EARLY_DISCHARGE_SHARE = 0.7  # of the patients above the available beds
EARLY_DISCHARGE_HORIZON_H = 36  # who may go today instead: those due within this many hours
SURGE_OPEN_SHARE = 0.25  # overcrowded wards that open extra beds at the morning check
SURGE_OPEN_HOURS = 48

# Mistakes that a cancel corrects (HL7 A11/A13)
ADMIT_CANCEL_SHARE = 0.012
DISCHARGE_CANCEL_SHARE = 0.008

# Electronic health record systems by region (illustrative; the source field only names
# the sending system).
EHR_BY_REGION: dict[str, str] = {
    "01": "takecare",
    "09": "takecare",
    "12": "melior",
    "14": "millennium",
}
DEFAULT_EHR = "cosmic"


def slug(name: str, *, max_length: int = 60) -> str:
    """ASCII slug of a hospital name for source names ("Södersjukhuset" -> "sodersjukhuset")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return text[:max_length].rstrip("-") or "hospital"


def source_name(region_code: str, hospital_name: str) -> str:
    return f"{EHR_BY_REGION.get(region_code, DEFAULT_EHR)}-adt@{slug(hospital_name)}"
