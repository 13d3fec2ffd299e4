"""HTTP ingest, ``POST /api/v1/events``, for hospital systems that cannot speak Kafka.

The body is one event or an ``EventBatch`` (``{"source", "hospital_id", "events": [...]}``).
The body is validated by ``schemas.validation.decode_message``, the very code the stream
runs on a Kafka message, so every rule (envelope, per item, personal data) is the same;
then the caller's role is applied: a publisher may send events for its own hospital's
wards only (``forbidden_ward`` otherwise) and only an admin may register wards.

Answers (documented in OpenAPI):

- 202 with one result per item, ``{"results": [{"index", "event_id", "status":
  "accepted"|"rejected", "reason", "detail"}], "accepted": n, "rejected": m}``; accepted
  items are in Kafka (``acks=all``) when the answer is sent, grouped per hospital into one
  batch message keyed by the hospital id.
- 400 with the same shape when the body as a whole is unreadable (``malformed_json``,
  ``schema_violation``): one result with index 0.
- 413 ``batch_too_large`` when the body exceeds ``ingest_max_bytes`` or the batch holds
  more than ``ingest_max_events`` events.
- 503 when Kafka does not take the accepted events; resending is safe (duplicates by
  ``event_id`` have no effect downstream).

Duplicates and lateness are decided by the stream (it holds the state), so an item
accepted here may still end up on ``capmon.invalid`` as ``duplicate`` or ``too_late``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import orjson
from pydantic import BaseModel, Field

from api.roles import Principal, RoleKind, may_ingest_for_hospital
from capmon.settings import Settings
from schemas.events import EventEnvelope, WardRegistered
from schemas.messages import InvalidReason
from schemas.reference import ReferenceData
from schemas.validation import Rejection, ValidationLimits, decode_message


class IngestItemResult(BaseModel):
    index: int = Field(description="Position of the item in the batch (0 for a single event).")
    event_id: str | None = None
    status: Literal["accepted", "rejected"]
    reason: InvalidReason | None = None
    detail: str | None = None


class IngestResponse(BaseModel):
    results: list[IngestItemResult]
    accepted: int
    rejected: int


class EventPublisher(Protocol):
    async def publish_event_batch(self, hospital_id: str, value: bytes) -> None: ...


class BodyTooLargeError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class IngestOutcome:
    status: int  # 202 or 400
    response: IngestResponse
    # hospital id -> (source, serialized events) to publish
    batches: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    # accepted ward registrations, for the caller's reference data
    registered: list[WardRegistered] = field(default_factory=list)


def too_large_response(detail: str) -> IngestResponse:
    result = IngestItemResult(
        index=0, status="rejected", reason=InvalidReason.BATCH_TOO_LARGE, detail=detail
    )
    return IngestResponse(results=[result], accepted=0, rejected=1)


def validate_body(
    body: bytes,
    *,
    principal: Principal,
    reference: ReferenceData,
    settings: Settings,
    now: datetime,
) -> IngestOutcome:
    """Validate every item with the stream's code, then apply the role's rules.

    Raises ``BodyTooLargeError`` when the batch holds more than ``ingest_max_events``."""
    limits = ValidationLimits.from_settings(settings, max_batch_events=settings.ingest_max_events)
    decoded = decode_message(body, reference=reference, limits=limits, now=now)
    whole = [r for r in decoded.rejected if r.index is None]
    if whole:
        rejection = whole[0]
        if rejection.reason is InvalidReason.BATCH_TOO_LARGE:
            raise BodyTooLargeError(rejection.detail)
        result = _rejected(0, rejection, principal, reference)
        return IngestOutcome(400, IngestResponse(results=[result], accepted=0, rejected=1))

    by_index: dict[int, IngestItemResult] = {
        r.index: _rejected(r.index, r, principal, reference)
        for r in decoded.rejected
        if r.index is not None
    }
    source = _batch_source(body)
    positions = [i for i in range(decoded.item_count) if i not in by_index]
    outcome = IngestOutcome(202, IngestResponse(results=[], accepted=0, rejected=0))
    for index, event in zip(positions, decoded.accepted, strict=True):
        event_id = str(event.event_id)
        hospital_id = _hospital_of(event, reference)
        refusal = _refusal(principal, event, hospital_id)
        if refusal is not None or hospital_id is None:
            by_index[index] = IngestItemResult(
                index=index,
                event_id=event_id,
                status="rejected",
                reason=InvalidReason.FORBIDDEN_WARD,
                detail=refusal,
            )
            continue
        outcome.batches.setdefault(hospital_id, (source or event.source, []))[1].append(
            event.model_dump_json()
        )
        outcome.registered.extend([event] if isinstance(event, WardRegistered) else [])
        by_index[index] = IngestItemResult(index=index, event_id=event_id, status="accepted")
    results = [by_index[i] for i in sorted(by_index)]
    accepted = sum(1 for r in results if r.status == "accepted")
    outcome.response = IngestResponse(
        results=results, accepted=accepted, rejected=len(results) - accepted
    )
    return outcome


def batch_message(source: str, hospital_id: str, events: list[str]) -> bytes:
    """An ``EventBatch`` as Kafka carries it, built from already-serialized events."""
    head = orjson.dumps({"schema_version": 1, "source": source, "hospital_id": hospital_id})
    return head[:-1] + b',"events":[' + ",".join(events).encode() + b"]}"


def _batch_source(body: bytes) -> str | None:
    """The batch's source (validated already: only called when items were accepted)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(parsed, dict) and "events" in parsed:
        source = parsed.get("source")
        return source if isinstance(source, str) else None
    return None


def _hospital_of(event: EventEnvelope, reference: ReferenceData) -> str | None:
    if isinstance(event, WardRegistered):
        return event.hospital_id
    ward = reference.wards.get(event.ward_id)
    return ward.hospital_id if ward is not None else None


def _refusal(principal: Principal, event: EventEnvelope, hospital_id: str | None) -> str | None:
    role = principal.role
    if isinstance(event, WardRegistered) and role.kind is not RoleKind.ADMIN:
        return "registering a ward needs the admin role"
    if hospital_id is None:
        return f"ward {event.ward_id} belongs to no known hospital"
    if not may_ingest_for_hospital(role, hospital_id):
        return f"ward {event.ward_id} belongs to hospital {hospital_id}, not to role {role}"
    return None


def _rejected(
    index: int, rejection: Rejection, principal: Principal, reference: ReferenceData
) -> IngestItemResult:
    reason = rejection.reason
    detail = rejection.detail
    role = principal.role
    if (
        reason is InvalidReason.WRONG_HOSPITAL
        and role.kind is RoleKind.PUBLISHER
        and rejection.ward_id is not None
    ):
        # The batch named the publisher's hospital but the ward is another's: for this
        # caller that is a ward it may not publish for, whatever the batch claimed.
        ward = reference.wards.get(rejection.ward_id)
        if ward is not None and ward.hospital_id != role.hospital_id:
            reason = InvalidReason.FORBIDDEN_WARD
            detail = (
                f"ward {ward.ward_id} belongs to hospital {ward.hospital_id}, not to role {role}"
            )
    return IngestItemResult(
        index=index, event_id=rejection.event_id, status="rejected", reason=reason, detail=detail
    )
