"""Free-capacity search for care-referral systems, answered from the live state (pure).

"Where is a free staffed bed of this kind right now": wards with at least ``min_free``
free beds (``max(0, available - occupied)``, DOMAIN.md "Free beds now"), sorted by free
beds (most first), then by freshness. Every row says the event time its numbers are from
(``as_of``), how old that is (``age_s``) and whether the ward is stale: silent past its
expected reporting interval, whether or not the stream has flagged it yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from api.live_state import LiveState
from schemas.messages import WardState
from schemas.reference import ReferenceData


class FreeCapacityRow(BaseModel):
    ward_id: str
    ward_name: str
    hospital_id: str
    hospital_name: str
    region_code: str
    care_type: str
    specialty: str
    available_beds: int = Field(description="Disponibla vårdplatser (staffed) now.")
    occupied: int
    free_beds: int = Field(description="max(0, available_beds - occupied)")
    free_after_pending: int = Field(
        description="available - occupied - pending admissions + expected discharges (24 h)"
    )
    as_of: datetime = Field(description="Event time the numbers are based on.")
    age_s: float = Field(description="Seconds between as_of and the time of the answer.")
    stale: bool = Field(description="Silent past its expected reporting interval.")


class FreeCapacityResponse(BaseModel):
    as_of: datetime = Field(description="When the answer was computed (UTC).")
    rows: list[FreeCapacityRow]


@dataclass(frozen=True, slots=True)
class CapacityQuery:
    region: str | None = None
    hospital: str | None = None
    care_type: str | None = None
    specialty: str | None = None
    min_free: int = 1
    max_staleness_s: float | None = None
    limit: int = 100


def _candidates(live: LiveState, query: CapacityQuery) -> Iterable[WardState]:
    if query.hospital is not None:
        wards = live.wards_in_hospital(query.hospital)
        if query.region is not None:
            return [w for w in wards if w.region_code == query.region]
        return wards
    if query.region is not None:
        return live.wards_in_region(query.region)
    return live.ward_states()


def search_free_capacity(
    live: LiveState, reference: ReferenceData, query: CapacityQuery, now: datetime
) -> FreeCapacityResponse:
    specialty = query.specialty.casefold() if query.specialty else None
    hits: list[tuple[int, float, str, WardState]] = []
    for ward in _candidates(live, query):
        free = ward.counts.free_beds
        if free < query.min_free:
            continue
        if query.care_type is not None and ward.care_type != query.care_type:
            continue
        if specialty is not None and ward.specialty.casefold() != specialty:
            continue
        age = (now - ward.as_of).total_seconds()
        if query.max_staleness_s is not None and age > query.max_staleness_s:
            continue
        hits.append((-free, age, ward.ward_id, ward))
    hits.sort(key=lambda hit: (hit[0], hit[1], hit[2]))
    ref_wards = reference.wards
    hospitals = reference.hospitals
    rows: list[FreeCapacityRow] = []
    for _neg_free, age, ward_id, ward in hits[: query.limit]:
        ref_ward = ref_wards.get(ward_id)
        hospital = hospitals.get(ward.hospital_id)
        rows.append(
            FreeCapacityRow.model_construct(
                ward_id=ward_id,
                ward_name=ref_ward.name if ref_ward is not None else ward_id,
                hospital_id=ward.hospital_id,
                hospital_name=hospital.name if hospital is not None else ward.hospital_id,
                region_code=ward.region_code,
                care_type=ward.care_type,
                specialty=ward.specialty,
                available_beds=ward.counts.available_beds,
                occupied=ward.counts.occupied,
                free_beds=ward.counts.free_beds,
                free_after_pending=ward.measures.free_after_pending,
                as_of=ward.as_of,
                age_s=round(age, 3),
                stale=ward.stale or age > ward.expected_interval_s,
            )
        )
    return FreeCapacityResponse.model_construct(as_of=now, rows=rows)
