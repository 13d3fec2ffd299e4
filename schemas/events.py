"""Inbound events: what hospital systems publish to ``capmon.events`` (or POST to the API).

Every event shares one envelope (``EventEnvelope``) and has a ``type`` that selects
its model. A Kafka message carries either one event or an ``EventBatch`` of events
from one source for one hospital, keyed by the hospital id so that each ward's events
stay in order on one partition.

Ward-scoped events (census, movement, capacity) change the state of ``ward_id`` only.
A transfer between two wards is therefore published once for each side, with the same
``event_id`` (deduplication is per ward): the ``from_ward_id`` side loses a patient, the
``to_ward_id`` side gains one. This is how ADT feeds already work (HL7 A02 reaches the
bed board of both wards) and keeps every event on its own ward's partition.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from schemas.types import (
    CareType,
    Count,
    EncounterRef,
    EventTime,
    HsaId,
    PreparednessLevel,
    RegionCode,
    SourceSystem,
)

SCHEMA_VERSION = 1


class EventEnvelope(BaseModel):
    """Fields every inbound event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    event_id: UUID = Field(description="Unique id chosen by the sender; duplicates are ignored.")
    schema_version: Literal[1] = Field(default=1, description="Version of this contract.")
    source: SourceSystem = Field(description="Sending system, e.g. 'cosmic-adt@karolinska'.")
    ward_id: HsaId = Field(description="HSA id of the ward the event is about.")
    occurred_at: EventTime = Field(
        description="When it happened at the hospital (event time, timezone required)."
    )


class CensusSnapshot(EventEnvelope):
    """A ward's count at one moment; authoritative for its time (reconciles movements)."""

    type: Literal["census"] = "census"
    available_beds: Count = Field(description="Disponibla vårdplatser: staffed beds now.")
    occupied: Count = Field(description="Admitted patients cared for on the ward now.")
    overcrowded: Count | None = Field(
        default=None,
        description="Överbeläggningar reported by the source; derived as occupied above "
        "available beds when absent.",
    )
    outlying_hosted: Count = Field(
        default=0, description="Utlokaliserade patients of other wards cared for here."
    )
    placed_elsewhere: Count = Field(
        default=0, description="This ward's own patients cared for on other wards."
    )
    pending_admissions: Count = Field(default=0, description="Decided admissions not yet placed.")
    expected_discharges_24h: Count = Field(
        default=0, description="Discharges expected within 24 h."
    )
    physical_beds: Count | None = Field(default=None, description="Vårdplatser physically present.")
    surge_beds_24h: Count | None = Field(
        default=None,
        description="Additional beds that could be staffed and opened within 24 h "
        "(EDXL-HAVE; kapacitetsökningsförmåga).",
    )
    surge_beds_72h: Count | None = Field(
        default=None,
        description="Additional beds that could be staffed and opened within 72 h; "
        "cumulative, so never fewer than surge_beds_24h.",
    )


class MovementAction(StrEnum):
    ADMIT = "admit"
    DISCHARGE = "discharge"
    TRANSFER = "transfer"
    CANCEL = "cancel"


class PatientMovement(EventEnvelope):
    """One patient moving in or out of ``ward_id`` (the caring ward), or a cancel."""

    type: Literal["movement"] = "movement"
    action: MovementAction
    encounter_ref: EncounterRef = Field(
        description="Opaque pseudonym of the stay (vårdtillfälle). Never a personal identity "
        "number: such input is rejected and not stored."
    )
    responsible_ward_id: HsaId | None = Field(
        default=None,
        description="Ward with medical responsibility; the patient is outlying (utlokaliserad) "
        "when it differs from the caring ward, unless medically motivated.",
    )
    medically_motivated: bool = Field(
        default=False,
        description="Placement on another ward is medically motivated (not counted as outlying).",
    )
    planned: bool = Field(default=False, description="Planned (booked) rather than unplanned stay.")
    from_ward_id: HsaId | None = Field(default=None, description="Transfer: the ward left.")
    to_ward_id: HsaId | None = Field(default=None, description="Transfer: the ward entered.")
    cancels_event_id: UUID | None = Field(
        default=None, description="Cancel: the event id of the movement it undoes."
    )

    @model_validator(mode="after")
    def _fields_match_action(self) -> PatientMovement:
        if self.action is MovementAction.TRANSFER:
            if self.from_ward_id is None or self.to_ward_id is None:
                raise ValueError("a transfer needs from_ward_id and to_ward_id")
            if self.from_ward_id == self.to_ward_id:
                raise ValueError("a transfer needs two different wards")
            if self.ward_id not in (self.from_ward_id, self.to_ward_id):
                raise ValueError("ward_id of a transfer must be from_ward_id or to_ward_id")
        elif self.from_ward_id is not None or self.to_ward_id is not None:
            raise ValueError("from_ward_id/to_ward_id are only for transfers")
        if self.action is MovementAction.CANCEL:
            if self.cancels_event_id is None:
                raise ValueError("a cancel needs cancels_event_id")
            if self.cancels_event_id == self.event_id:
                raise ValueError("an event cannot cancel itself")
        elif self.cancels_event_id is not None:
            raise ValueError("cancels_event_id is only for cancels")
        return self

    @property
    def is_outlying(self) -> bool:
        """Outlying on the caring ward: responsible elsewhere and not medically motivated."""
        return (
            self.responsible_ward_id is not None
            and self.responsible_ward_id != self.ward_id
            and not self.medically_motivated
        )


class CapacityReason(StrEnum):
    STAFFING = "staffing"
    RENOVATION = "renovation"
    SEASON = "season"
    SURGE = "surge"
    OTHER = "other"


class CapacityChange(EventEnvelope):
    """Available (staffed) beds opened (positive) or closed (negative) from ``effective_at``."""

    type: Literal["capacity"] = "capacity"
    change: Annotated[int, Field(ge=-10_000, le=10_000)] = Field(
        description="Beds opened (> 0) or closed (< 0)."
    )
    effective_at: EventTime | None = Field(
        default=None, description="When the change takes effect; defaults to occurred_at."
    )
    reason: CapacityReason

    @model_validator(mode="after")
    def _nonzero(self) -> CapacityChange:
        if self.change == 0:
            raise ValueError("a capacity change of 0 beds changes nothing")
        return self

    @property
    def effective_time(self) -> datetime:
        return self.effective_at or self.occurred_at


class PreparednessDeclared(EventEnvelope):
    """A region declared a preparedness level (beredskapsläge). ``ward_id`` is the
    reporting unit (e.g. the regional coordination's own unit): a ward of that region."""

    type: Literal["preparedness"] = "preparedness"
    region_code: RegionCode
    level: PreparednessLevel


class Heartbeat(EventEnvelope):
    """The source system is alive and ``ward_id`` has nothing new to report."""

    type: Literal["heartbeat"] = "heartbeat"


class WardRegistered(EventEnvelope):
    """Add or change a ward in the reference data at run time (admin only)."""

    type: Literal["ward_registered"] = "ward_registered"
    hospital_id: HsaId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    care_type: CareType
    specialty: Annotated[str, Field(min_length=1, max_length=100)]
    physical_beds: Count
    typical_available_beds: Count
    reporting_interval_s: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 3600


Event = Annotated[
    CensusSnapshot
    | PatientMovement
    | CapacityChange
    | PreparednessDeclared
    | Heartbeat
    | WardRegistered,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[type[EventEnvelope], ...] = (
    CensusSnapshot,
    PatientMovement,
    CapacityChange,
    PreparednessDeclared,
    Heartbeat,
    WardRegistered,
)
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


class EventBatch(BaseModel):
    """Many events from one source for one hospital in one message.

    Items are validated one by one (see ``schemas.validation``): one bad event never
    rejects its neighbours, so ``events`` is typed loosely here on purpose.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    source: SourceSystem = Field(description="Sending system; every event's source is this.")
    hospital_id: HsaId = Field(
        description="Hospital every event's ward belongs to; also the Kafka message key."
    )
    events: Annotated[list[dict[str, object]], Field(min_length=1, max_length=10_000)]
