"""msgspec mirrors of the common inbound events, for decoding at stream speed.

The contract is ``schemas.events`` (pydantic: the JSON Schema, the HTTP ingest, every
rejection's wording). Decoding a 50-event batch into those models costs about 5 µs per
event here, most of the worker's budget at 100,000 events/s; msgspec decodes the same
bytes into these structs in about 2 µs. So the stream's fast path
(``schemas.validation.decode_stream_message``) decodes with these, and anything they do
not accept exactly as the models would goes to the pydantic path, which alone decides
rejections. The fast path may refuse more than the contract (it then costs the slow path),
never accept more:

- only census, movement, capacity and heartbeat (the other types are rare: slow path);
- HSA ids carry no pattern here: every id is looked up in the reference data, whose ids
  were validated as ``HsaId`` when loaded (unknown or malformed: slow path);
- the model validators (a transfer's wards, a cancel's target, a capacity change of 0)
  are ``wire_problem``, run by the fast path;
- timestamps: msgspec rounds more than 6 fractional digits where pydantic truncates,
  so messages holding such a timestamp take the slow path (``schemas.validation``).

``tests/schemas/test_wire.py`` holds the mirror to the models: the same fields and
defaults, and the same decisions on every class of bad input, on each boundary checked
here, and on generated batches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Final, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from schemas.events import (
    CapacityChange,
    CapacityReason,
    CensusSnapshot,
    Event,
    EventEnvelope,
    Heartbeat,
    MovementAction,
    PatientMovement,
)

_Count = Annotated[int, Meta(ge=0, le=100_000)]
_Source = Annotated[str, Meta(min_length=1, max_length=100)]
# EncounterRef's pattern ^[A-Za-z0-9._:\-]{1,64}$: the length here, the characters in
# ``wire_problem`` (str.strip in C is ~10x cheaper than msgspec's call into ``re``)
_EncounterRef = Annotated[str, Meta(min_length=1, max_length=64)]
_ENCOUNTER_REF_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
_Time = Annotated[datetime, Meta(tz=True)]
_Id = Annotated[str, Meta(min_length=16, max_length=30)]  # HSA id: checked by lookup


class _Envelope(
    msgspec.Struct,
    tag_field="type",
    forbid_unknown_fields=True,
    frozen=True,
    gc=False,
    kw_only=True,
):
    event_id: UUID
    source: _Source
    ward_id: _Id
    occurred_at: _Time
    schema_version: Literal[1] = 1


class WireCensus(_Envelope, tag="census", frozen=True):
    available_beds: _Count
    occupied: _Count
    overcrowded: _Count | None = None
    outlying_hosted: _Count = 0
    placed_elsewhere: _Count = 0
    pending_admissions: _Count = 0
    expected_discharges_24h: _Count = 0
    physical_beds: _Count | None = None
    surge_beds_24h: _Count | None = None
    surge_beds_72h: _Count | None = None

    type: ClassVar[Literal["census"]] = "census"  # the tag, as the models have it


class WireMovement(_Envelope, tag="movement", frozen=True):
    action: MovementAction
    encounter_ref: _EncounterRef
    responsible_ward_id: _Id | None = None
    medically_motivated: bool = False
    planned: bool = False
    from_ward_id: _Id | None = None
    to_ward_id: _Id | None = None
    cancels_event_id: UUID | None = None

    type: ClassVar[Literal["movement"]] = "movement"  # the tag, as the models have it

    @property
    def is_outlying(self) -> bool:
        return (
            self.responsible_ward_id is not None
            and self.responsible_ward_id != self.ward_id
            and not self.medically_motivated
        )


class WireCapacity(_Envelope, tag="capacity", frozen=True):
    change: Annotated[int, Meta(ge=-10_000, le=10_000)]
    reason: CapacityReason
    effective_at: _Time | None = None

    type: ClassVar[Literal["capacity"]] = "capacity"  # the tag, as the models have it

    @property
    def effective_time(self) -> datetime:
        return self.effective_at or self.occurred_at


class WireHeartbeat(_Envelope, tag="heartbeat", frozen=True):
    type: ClassVar[Literal["heartbeat"]] = "heartbeat"  # the tag, as the models have it


WireEvent = WireCensus | WireMovement | WireCapacity | WireHeartbeat
WIRE_TYPES: Final = (WireCensus, WireMovement, WireCapacity, WireHeartbeat)
# The pydantic model each mirrors.
MODEL_OF: Final[dict[type[Any], type[EventEnvelope]]] = {
    WireCensus: CensusSnapshot,
    WireMovement: PatientMovement,
    WireCapacity: CapacityChange,
    WireHeartbeat: Heartbeat,
}


class WireBatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    source: _Source
    hospital_id: _Id
    events: Annotated[list[WireEvent], Meta(min_length=1, max_length=10_000)]
    schema_version: Literal[1] = 1


batch_decoder: Final = msgspec.json.Decoder(WireBatch)
event_decoder: Final = msgspec.json.Decoder(WireEvent)


def wire_problem(event: WireEvent) -> str | None:
    """What the models' validators would refuse in ``event`` (the fast path then hands the
    message to pydantic, which words the rejection), or None."""
    if type(event) is WireMovement:
        if event.encounter_ref.strip(_ENCOUNTER_REF_CHARS):
            return "encounter_ref outside [A-Za-z0-9._:-]"
        action = event.action
        if action is MovementAction.TRANSFER:
            if event.from_ward_id is None or event.to_ward_id is None:
                return "transfer without from_ward_id/to_ward_id"
            if event.from_ward_id == event.to_ward_id:
                return "transfer between one ward"
            if event.ward_id != event.from_ward_id and event.ward_id != event.to_ward_id:
                return "transfer ward_id on neither side"
        elif event.from_ward_id is not None or event.to_ward_id is not None:
            return "from_ward_id/to_ward_id outside a transfer"
        if action is MovementAction.CANCEL:
            if event.cancels_event_id is None or event.cancels_event_id == event.event_id:
                return "cancel without a valid target"
        elif event.cancels_event_id is not None:
            return "cancels_event_id outside a cancel"
    elif type(event) is WireCapacity and event.change == 0:
        return "capacity change of 0"
    return None


def to_model(event: WireEvent | Event) -> Event:
    """The pydantic event equal to ``event`` (rare paths: a rejection's payload, tests)."""
    model = MODEL_OF.get(type(event))
    if model is None:
        return event  # type: ignore[return-value]  # already a model
    fields = msgspec.structs.asdict(event)  # type: ignore[arg-type]
    return model.model_validate(fields)  # type: ignore[return-value]


def event_json(event: WireEvent | Event) -> str:
    """The event as the contract serialises it (``model_dump_json`` of its model)."""
    return to_model(event).model_dump_json()
