"""The model's mutable world: patients, hospitals and wards as the simulation sees them.

Plain slotted classes, not dataclasses: the model touches these attributes millions of
times per simulated week.
"""

from __future__ import annotations

from schemas.reference import Hospital, Ward
from schemas.types import CareType
from simulator import profiles
from simulator.ids import letters_tag
from simulator.profiles import CareProfile

SURGICAL_HINTS = ("surg", "orthop", "trauma", "kirurg", "ortop")


def plausible(occupied: int, available: int) -> bool:
    """Within what the validation accepts from a census (occupied <= 1.5 x available + 5),
    with a margin: a hospital spreads patients over its wards long before that."""
    return occupied <= 1.35 * available + 3


class Patient:
    __slots__ = ("discharge_ts", "home", "motivated", "planned", "ref", "token", "ward")

    def __init__(self, ref: str, home: WardSim, ward: WardSim, planned: bool) -> None:
        self.ref = ref
        self.home = home  # the responsible ward
        self.ward = ward  # the caring ward
        self.planned = planned
        self.motivated = False  # elsewhere for a medical reason: not outlying
        self.discharge_ts = 0
        self.token = 0  # bumped when the scheduled end of stay is replaced

    @property
    def outlying(self) -> bool:
        return self.home is not self.ward and not self.motivated


class HospitalSim:
    __slots__ = ("emergency", "hospital_id", "name", "region_code", "silent_from", "source", "tag")

    def __init__(self, hospital: Hospital, index: int) -> None:
        self.hospital_id = hospital.hospital_id
        self.name = hospital.name
        self.region_code = hospital.region_code
        self.emergency = hospital.emergency
        self.source = profiles.source_name(hospital.region_code, hospital.name)
        self.tag = letters_tag(index)
        self.silent_from: int | None = None


class WardSim:
    __slots__ = (
        "available",
        "baseline",
        "care_type",
        "census_mod",
        "elsewhere",
        "extra_surge",
        "hospital",
        "last_emit_ts",
        "night_close_k",
        "night_closed",
        "outlying_hosted",
        "patients",
        "pending_planned",
        "pending_unplanned",
        "phantom",
        "phase",
        "physical",
        "planned_per_weekday",
        "profile",
        "season_closed",
        "season_target",
        "siblings",
        "surge_open",
        "surgical",
        "unplanned_per_day",
        "ward_id",
    )

    def __init__(self, ward: Ward, hospital: HospitalSim) -> None:
        self.ward_id = ward.ward_id
        self.hospital = hospital
        self.care_type = CareType(ward.care_type)
        self.profile: CareProfile = profiles.CARE_PROFILES[self.care_type]
        self.surgical = any(h in ward.specialty.lower() for h in SURGICAL_HINTS)
        self.physical = ward.physical_beds
        self.baseline = ward.typical_available_beds
        self.available = ward.typical_available_beds
        self.extra_surge = max(1, ward.physical_beds // 10)  # beds beyond the physical ones
        self.patients: dict[str, Patient] = {}  # cared for here
        self.elsewhere: dict[str, Patient] = {}  # own patients outlying on other wards
        self.outlying_hosted = 0
        self.phantom = 0  # mistaken movements not yet cancelled (+1 admit, -1 discharge)
        self.pending_unplanned = 0
        self.pending_planned = 0
        self.night_close_k = 0
        self.night_closed = 0
        self.surge_open = 0
        self.season_target = 0
        self.season_closed = 0
        self.phase = 0
        self.census_mod = 0
        self.last_emit_ts = -1
        self.unplanned_per_day = 0.0
        self.planned_per_weekday = 0.0
        self.siblings: list[WardSim] = []  # other wards of the same hospital

    @property
    def occupied(self) -> int:
        """Patients on the ward as the movement feed counts them."""
        return len(self.patients) + self.phantom

    @property
    def free(self) -> int:
        return self.available - len(self.patients) - self.phantom

    def surge_24h(self) -> int:
        return max(0, self.physical - self.available) + self.extra_surge
