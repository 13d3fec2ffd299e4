"""Free-capacity search for care-referral systems, answered from the live state (pure).

"Where is a free staffed bed of this kind right now": wards with at least ``min_free``
free beds (``max(0, available - occupied)``, DOMAIN.md "Free beds now"), sorted by free
beds (most first), then by freshness. Every row says the event time its numbers are from
(``as_of``), how old that is (``age_s``) and whether the ward is stale: silent past its
expected reporting interval, whether or not the stream has flagged it yet.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field

from api.live_state import LiveState, WardRecord
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


def free_capacity_rows(
    live: LiveState, reference: ReferenceData, query: CapacityQuery, now: datetime
) -> list[dict[str, Any]]:
    """The rows of the answer as plain dicts, in ``FreeCapacityRow``'s shape and order
    (the route serializes them with orjson directly: this is the referral systems' hot
    path)."""
    specialty = query.specialty.casefold() if query.specialty else None
    region, hospital, care_type = query.region, query.hospital, query.care_type
    min_free = query.min_free
    now_ts = now.timestamp()
    oldest = now_ts - query.max_staleness_s if query.max_staleness_s is not None else None
    hits: list[tuple[int, float, str, WardRecord]] = []
    for record in live.ward_records(region=region, hospital=hospital, care_type=care_type):
        if record.free_beds < min_free:
            continue
        if care_type is not None and record.care_type != care_type:
            continue
        if region is not None and record.region_code != region:
            continue
        if specialty is not None and record.specialty_key != specialty:
            continue
        if oldest is not None and record.as_of_ts < oldest:
            continue
        hits.append((-record.free_beds, now_ts - record.as_of_ts, record.ward_id, record))
    best = heapq.nsmallest(query.limit, hits, key=lambda hit: (hit[0], hit[1], hit[2]))
    ref_wards = reference.wards
    hospitals = reference.hospitals
    rows: list[dict[str, Any]] = []
    for _neg_free, age, ward_id, record in best:
        ward = record.state
        counts = ward.counts
        ref_ward = ref_wards.get(ward_id)
        hospital_ref = hospitals.get(ward.hospital_id)
        rows.append(
            {
                "ward_id": ward_id,
                "ward_name": ref_ward.name if ref_ward is not None else ward_id,
                "hospital_id": ward.hospital_id,
                "hospital_name": (
                    hospital_ref.name if hospital_ref is not None else ward.hospital_id
                ),
                "region_code": ward.region_code,
                "care_type": ward.care_type,
                "specialty": ward.specialty,
                "available_beds": counts.available_beds,
                "occupied": counts.occupied,
                "free_beds": counts.free_beds,
                "free_after_pending": ward.measures.free_after_pending,
                "as_of": ward.as_of,
                "age_s": round(age, 3),
                "stale": record.stale or age > record.expected_interval_s,
            }
        )
    return rows


def free_capacity_json(
    live: LiveState, reference: ReferenceData, query: CapacityQuery, now: datetime
) -> bytes:
    """The answer serialized as ``FreeCapacityResponse`` JSON (same text as pydantic's)."""
    rows = free_capacity_rows(live, reference, query, now)
    return orjson.dumps({"as_of": now, "rows": rows}, option=orjson.OPT_UTC_Z)


def search_free_capacity(
    live: LiveState, reference: ReferenceData, query: CapacityQuery, now: datetime
) -> FreeCapacityResponse:
    """The answer as a typed model (for Python callers)."""
    rows = free_capacity_rows(live, reference, query, now)
    return FreeCapacityResponse(
        as_of=now, rows=[FreeCapacityRow.model_validate(row) for row in rows]
    )
