"""The one validation path for inbound messages, used by the stream and the HTTP ingest.

``decode_message`` turns the raw bytes of one message (one event object, or an
``EventBatch``) into accepted events and rejections with reason codes
(``schemas.messages.InvalidReason``). Decided here, in this order of precedence:

1. ``personal_data``: a personnummer anywhere in the raw bytes (``schemas.personal_data``).
   Checked before anything else, because every other rejection keeps the payload.
   Attributed to the batch items that hold it; the whole message when it cannot be
   (outside the items, or in JSON that does not parse). Such a rejection keeps only the
   reason and the event id (when it is a readable UUID): no raw, ward or source, and the
   detail names the field, never the number.
2. ``malformed_json``: the bytes are not JSON (whole message).
3. ``batch_too_large`` / ``schema_violation`` of the batch envelope (whole message or
   every item), ``wrong_hospital`` when the batch's ``hospital_id`` is not the Kafka key /
   the publisher's hospital (every item).
4. Per item: ``schema_violation`` (with the field path, e.g.
   ``events[3].occupied: Input should be greater than or equal to 0``),
   ``unknown_ward``, ``wrong_hospital`` (the ward belongs to another hospital than the
   message's: its events would land on another ward's partition and lose their order),
   ``forbidden_ward`` (a ward declaring another region's preparedness level),
   ``in_future`` and ``implausible_value`` (thresholds in ``ValidationLimits``).

``duplicate`` and ``too_late`` need the stream's state and are decided there.

One bad item never rejects its neighbours. Accepted events keep the message's order. A
``WardRegistered`` accepted in a message is visible to the items after it in the same
message (the caller applies it to its ``ReferenceData`` with ``with_ward`` afterwards).

Speed (the stream's hot path): one scan of the raw bytes for personnummer shapes (in C:
``bytes.translate`` and ``bytes.find``), one orjson parse, one pydantic call for the whole
list of items (when some fail, their errors come from that call and the rest are
validated in one more), then a few dict lookups and comparisons per event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar
from uuid import UUID

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from schemas.events import (
    CapacityChange,
    CensusSnapshot,
    Event,
    PatientMovement,
    PreparednessDeclared,
    WardRegistered,
)
from schemas.messages import InvalidEventRecord, InvalidReason
from schemas.personal_data import (
    contains_personnummer,
    contains_personnummer_besides,
    hsa_prefix,
    personal_data_paths,
)
from schemas.reference import ReferenceData, Ward
from schemas.types import HsaId, SourceSystem
from schemas.wire import (
    WireCapacity,
    WireCensus,
    WireEvent,
    WireMovement,
    batch_decoder,
    event_decoder,
    wire_problem,
)

# What the stream's decoding gives: the fast path's msgspec structs, or the models.
StreamEvent = Event | WireEvent

MAX_DETAIL_CHARS = 2000  # InvalidEventRecord.detail
_MAX_ERRORS_SHOWN = 5
_MAX_ID_CHARS = 100

_event_list_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


class _SettingsLike(Protocol):
    @property
    def future_tolerance_seconds(self) -> int: ...


class ValidationLimits(BaseModel):
    """Thresholds of the checks in ``decode_message``. Counts are implausible above
    ``factor × reference + slack``: the slack keeps small wards from false alarms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    future_tolerance_s: Annotated[int, Field(ge=0)] = Field(
        default=300, description="Event time may be this far ahead of now (clock skew)."
    )
    occupied_factor: Annotated[float, Field(gt=0)] = Field(
        default=1.5, description="occupied <= factor × available_beds + slack"
    )
    occupied_slack: Annotated[int, Field(ge=0)] = 5
    available_factor: Annotated[float, Field(gt=0)] = Field(
        default=1.5, description="available_beds <= factor × physical beds + slack"
    )
    available_slack: Annotated[int, Field(ge=0)] = 2
    count_factor: Annotated[float, Field(gt=0)] = Field(
        default=3.0,
        description="Other census counts (pending admissions, expected discharges, placed "
        "elsewhere, surge beds) <= factor × physical beds + slack",
    )
    count_slack: Annotated[int, Field(ge=0)] = 20
    capacity_change_factor: Annotated[float, Field(gt=0)] = Field(
        default=1.5, description="|capacity change| <= factor × physical beds + slack"
    )
    capacity_change_slack: Annotated[int, Field(ge=0)] = 5
    max_effective_ahead_s: Annotated[int, Field(ge=0)] = Field(
        default=366 * 24 * 3600,
        description="A capacity change may be announced this far ahead of now.",
    )
    max_batch_events: Annotated[int, Field(ge=1, le=10_000)] = 10_000
    max_raw_chars: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=100_000, description="A rejection keeps at most this much of the payload."
    )

    @classmethod
    def from_settings(cls, settings: _SettingsLike, **overrides: Any) -> ValidationLimits:
        """Limits from ``capmon.settings.Settings`` (the future tolerance), plus overrides
        (e.g. the HTTP ingest's ``max_batch_events=settings.ingest_max_events``)."""
        return cls.model_validate(
            {"future_tolerance_s": settings.future_tolerance_seconds, **overrides}
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected event (or a whole message when ``index`` is None)."""

    reason: InvalidReason
    detail: str
    event_id: str | None = None
    ward_id: str | None = None
    source: str | None = None
    raw: str | None = None
    index: int | None = field(
        default=None,
        metadata={
            "doc": "position of the item in the message (0 for a single event); "
            "None when the whole message is rejected"
        },
    )

    def to_record(self, *, received_at: datetime, origin: str) -> InvalidEventRecord:
        """The ``capmon.invalid`` message for this rejection."""
        return InvalidEventRecord(
            reason=self.reason,
            detail=self.detail,
            event_id=self.event_id,
            ward_id=self.ward_id,
            source=self.source,
            received_at=received_at,
            origin=origin,
            raw=self.raw,
        )


E = TypeVar("E", bound=StreamEvent)


@dataclass(frozen=True, slots=True)
class DecodeResult(Generic[E]):
    accepted: list[E]
    rejected: list[Rejection]
    item_count: int = 0  # items in the message (0 when it could not be read)


class _BatchHeader(BaseModel):
    """``EventBatch`` without its items (they are validated one by one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    source: SourceSystem
    hospital_id: HsaId


class _ValidBatch(_BatchHeader):
    """A batch whose every item is a valid event: the fast path's one-call model."""

    events: Annotated[list[Event], Field(min_length=1, max_length=10_000)]


_valid_batch_adapter: TypeAdapter[_ValidBatch] = TypeAdapter(_ValidBatch)


def decode_message(
    raw: bytes,
    *,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None = None,
) -> DecodeResult[Event]:
    """Validate one message: an event object or an ``EventBatch``.

    ``hospital_id`` is the hospital the message must be about (the Kafka key, or the
    publisher's hospital on HTTP ingest); ``None`` skips that check for single events
    (a batch still checks its wards against its own ``hospital_id``). ``now`` is the
    processing time (timezone-aware) for the future check.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    has_personal_data = contains_personnummer(raw)
    if not has_personal_data and b"\\u" not in raw:
        accepted = _decode_all_valid(raw, reference, limits, now, hospital_id)
        if accepted is not None:
            return accepted
    return _decode_parsed(raw, has_personal_data, reference, limits, now, hospital_id)


# msgspec rounds fractional seconds beyond microseconds, pydantic truncates them.
_LONG_FRACTION = re.compile(rb"\.[0-9]{7}")


def decode_stream_message(
    raw: bytes,
    *,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None = None,
) -> DecodeResult[StreamEvent]:
    """``decode_message`` for the stream: the same events accepted and the same rejections;
    a message whose every item is a valid census, movement, capacity change or heartbeat is
    decoded by ``schemas.wire`` (msgspec structs, about a third of the cost). Everything
    else takes ``decode_message``'s own path.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    prefix = hsa_prefix(hospital_id) if hospital_id is not None else None
    if prefix is not None:
        has_personal_data = contains_personnummer_besides(raw, prefix)
    else:
        has_personal_data = contains_personnummer(raw)
    # A backslash: an escape may hide digits from the scan (the slow path rescans decoded).
    if not has_personal_data and b"\\" not in raw and _LONG_FRACTION.search(raw) is None:
        accepted = _decode_wire(raw, reference, limits, now, hospital_id)
        if accepted is not None:
            return accepted
    return _decode_parsed(raw, has_personal_data, reference, limits, now, hospital_id)  # type: ignore[return-value]


def _decode_wire(
    raw: bytes,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None,
) -> DecodeResult[StreamEvent] | None:
    """Every item valid, decoded by msgspec; ``None`` for anything else (see
    ``schemas.wire``: what it refuses, pydantic decides)."""
    try:
        if b'"events"' in raw:
            batch = batch_decoder.decode(raw)
            context = _batch_context(batch, reference, limits, now, hospital_id)
            if context is None:
                return None
            events: list[StreamEvent] = list(batch.events)
        else:
            events = [event_decoder.decode(raw)]
            context = _Context(reference, limits, now, hospital_id, single_raw=raw)
    except msgspec.DecodeError:  # not JSON, or not valid (a ValidationError)
        return None
    for event in events:
        if wire_problem(event) is not None or _check(event, context) is not None:  # type: ignore[arg-type]
            return None
    return DecodeResult(events, [], len(events))


def _decode_all_valid(
    raw: bytes,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None,
) -> DecodeResult[Event] | None:
    """The common case in one pydantic call: parse and validate the whole message in
    Rust, with no intermediate dicts to build and free (measured: about 1 µs per event
    less than orjson + ``validate_python``). Returns only when every item is accepted;
    anything else (``None``) goes to ``_decode_parsed``, which alone decides rejections.
    """
    try:
        if b'"events"' in raw:
            batch = _valid_batch_adapter.validate_json(raw)
            context = _batch_context(batch, reference, limits, now, hospital_id)
            if context is None:
                return None
            events = batch.events
        else:
            events = [_event_adapter.validate_json(raw)]
            context = _Context(reference, limits, now, hospital_id, single_raw=raw)
    except ValueError:  # ValidationError, or bytes that are not JSON
        return None
    for event in events:
        if _check(event, context) is not None:
            return None
        if type(event) is WardRegistered:
            context.registered[event.ward_id] = Ward.from_event(event)
    return DecodeResult(events, [], len(events))


class _DecodedBatch(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def hospital_id(self) -> str: ...
    @property
    def events(self) -> Sequence[object]: ...


def _batch_context(
    batch: _DecodedBatch,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None,
) -> _Context | None:
    """The checks' context for a batch both fast paths decoded; ``None`` when its envelope
    needs the slow path (too many items, another hospital than the key, an unknown one)."""
    if len(batch.events) > limits.max_batch_events:
        return None
    if hospital_id is not None and batch.hospital_id != hospital_id:
        return None
    if batch.hospital_id not in reference.hospitals:
        return None
    context = _Context(reference, limits, now, batch.hospital_id)
    context.source = batch.source
    return context


def _decode_parsed(
    raw: bytes,
    has_personal_data: bool,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None,
) -> DecodeResult[Event]:
    """Every message the fast path did not accept: parse with orjson, attribute personal
    data, validate item by item where needed, and give each rejection its reason."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if has_personal_data:
            return DecodeResult([], [_personal_data(None, "message", None)])
        return DecodeResult(
            [],
            [
                Rejection(
                    InvalidReason.MALFORMED_JSON,
                    _cut(f"malformed JSON: {exc}"),
                    raw=_text(raw, limits),
                )
            ],
        )
    if not has_personal_data and b"\\u" in raw:
        # JSON escapes (\u0031 = "1") would hide digits from the raw scan: rescan decoded.
        has_personal_data = contains_personnummer(orjson.dumps(message))

    if isinstance(message, dict) and "events" in message:
        return _decode_batch(message, raw, has_personal_data, reference, limits, now, hospital_id)
    if isinstance(message, dict):
        context = _Context(reference, limits, now, hospital_id, single_raw=raw)
        if has_personal_data:
            where = ", ".join(personal_data_paths(message)) or "message"
            return DecodeResult([], [_personal_data(message, where, 0)], 1)
        return _decode_items([message], [0], context, [])
    if has_personal_data:
        return DecodeResult([], [_personal_data(None, "message", None)])
    return DecodeResult(
        [],
        [
            Rejection(
                InvalidReason.SCHEMA_VIOLATION,
                "expected an event object or a batch object with 'events'",
                raw=_text(raw, limits),
            )
        ],
    )


class _Context:
    """Everything the per-item checks need, looked up once per message."""

    __slots__ = (
        "available_factor",
        "available_slack",
        "batch",
        "count_factor",
        "count_slack",
        "hospital_id",
        "latest",
        "latest_effective",
        "limits",
        "occupied_factor",
        "occupied_slack",
        "reference",
        "registered",
        "single_raw",
        "source",
        "wards",
    )

    def __init__(
        self,
        reference: ReferenceData,
        limits: ValidationLimits,
        now: datetime,
        hospital_id: str | None,
        *,
        single_raw: bytes | None = None,
    ) -> None:
        self.reference = reference
        self.wards: Mapping[str, Ward] = reference.wards
        self.limits = limits
        self.latest = now + timedelta(seconds=limits.future_tolerance_s)
        self.latest_effective = now + timedelta(seconds=limits.max_effective_ahead_s)
        self.hospital_id = hospital_id
        self.source: str | None = None
        self.batch = single_raw is None
        self.single_raw = single_raw
        self.registered: dict[str, Ward] = {}
        # Plain attributes: reading a pydantic model's field costs twice a slot's.
        self.occupied_factor = limits.occupied_factor
        self.occupied_slack = limits.occupied_slack
        self.available_factor = limits.available_factor
        self.available_slack = limits.available_slack
        self.count_factor = limits.count_factor
        self.count_slack = limits.count_slack

    def prefix(self, index: int) -> str:
        return f"events[{index}]" if self.batch else ""

    def ward(self, ward_id: str) -> Ward | None:
        if self.registered:
            found = self.registered.get(ward_id)
            if found is not None:
                return found
        return self.wards.get(ward_id)

    def raw_of(self, item: object) -> str | None:
        if self.single_raw is not None:
            return _text(self.single_raw, self.limits)
        return _text(orjson.dumps(item), self.limits)


def _decode_batch(
    message: dict[str, Any],
    raw: bytes,
    has_personal_data: bool,
    reference: ReferenceData,
    limits: ValidationLimits,
    now: datetime,
    hospital_id: str | None,
) -> DecodeResult[Event]:
    items = message["events"]
    problem: Rejection | None = None
    if not isinstance(items, list):
        problem = Rejection(InvalidReason.SCHEMA_VIOLATION, "events: Input should be a valid list")
    elif not items:
        problem = Rejection(
            InvalidReason.SCHEMA_VIOLATION, "events: List should have at least 1 item"
        )
    elif len(items) > limits.max_batch_events:
        problem = Rejection(
            InvalidReason.BATCH_TOO_LARGE,
            f"events: {len(items)} events, at most {limits.max_batch_events} per batch",
        )
    if problem is not None:
        count = len(items) if isinstance(items, list) else 0
        if has_personal_data:
            return DecodeResult([], [_personal_data(None, "message", None)], count)
        if problem.reason is not InvalidReason.BATCH_TOO_LARGE:
            problem = _with_raw(problem, _text(raw, limits))
        return DecodeResult([], [problem], count)

    context = _Context(reference, limits, now, hospital_id)
    header_fields = {key: value for key, value in message.items() if key != "events"}
    rejected: list[Rejection] = []
    positions = list(range(len(items)))
    if has_personal_data:
        # Attribute before anything else: every other rejection keeps the payload.
        header_paths = personal_data_paths(header_fields)
        item_paths = {
            i: paths
            for i, item in enumerate(items)
            if (paths := personal_data_paths(item, f"events[{i}]"))
        }
        if header_paths or not item_paths:
            # Not inside any one item (the envelope, or a duplicate key the parser
            # dropped): the whole message goes.
            where = ", ".join(header_paths) or "message"
            rejections = [_personal_data(item, where, i) for i, item in enumerate(items)]
            return DecodeResult([], rejections, len(items))
        rejected = [_personal_data(items[i], ", ".join(p), i) for i, p in item_paths.items()]
        positions = [i for i in positions if i not in item_paths]

    try:
        header = _BatchHeader.model_validate(header_fields)
    except ValidationError as exc:
        detail = "batch " + _format_errors(exc.errors(include_url=False), "", None)
        reason = InvalidReason.SCHEMA_VIOLATION
        return _reject_all(items, positions, context, reason, detail, rejected)
    if hospital_id is not None and header.hospital_id != hospital_id:
        detail = f"hospital_id: batch for {header.hospital_id} sent as {hospital_id}"
        reason = InvalidReason.WRONG_HOSPITAL
        return _reject_all(items, positions, context, reason, detail, rejected)
    if header.hospital_id not in reference.hospitals:
        detail = f"hospital_id: unknown hospital {header.hospital_id}"
        reason = InvalidReason.UNKNOWN_WARD
        return _reject_all(items, positions, context, reason, detail, rejected)
    context.hospital_id = header.hospital_id
    context.source = header.source
    return _decode_items(items, positions, context, rejected)


def _decode_items(
    items: Sequence[object],
    positions: Sequence[int],
    context: _Context,
    rejected: list[Rejection],
) -> DecodeResult[Event]:
    validated, errors = _validate(items, positions)
    for position, item_errors in errors.items():
        rejected.append(_schema_violation(items[position], position, item_errors, context))
    accepted = _check_all(items, validated, context, rejected)
    rejected.sort(key=_by_index)
    return DecodeResult(accepted, rejected, len(items))


def _by_index(rejection: Rejection) -> int:
    return -1 if rejection.index is None else rejection.index


def _validate(
    items: Sequence[object], positions: Sequence[int]
) -> tuple[list[tuple[int, Event]], dict[int, list[ErrorDetails]]]:
    """Validate the items at ``positions``: one pydantic call for all when they are all
    valid (the common case), else once more for the valid ones."""
    batch = [items[i] for i in positions]
    try:
        return list(zip(positions, _event_list_adapter.validate_python(batch), strict=True)), {}
    except ValidationError as exc:
        errors: dict[int, list[ErrorDetails]] = {}
        for error in exc.errors(include_url=False):
            errors.setdefault(positions[error["loc"][0]], []).append(error)  # type: ignore[index]
    good = [i for i in positions if i not in errors]
    try:
        events = _event_list_adapter.validate_python([items[i] for i in good])
        return list(zip(good, events, strict=True)), errors
    except ValidationError:  # pragma: no cover - items are independent; belt and braces
        validated: list[tuple[int, Event]] = []
        for i in good:
            try:
                validated.append((i, _event_list_adapter.validate_python([items[i]])[0]))
            except ValidationError as exc:
                errors[i] = [{**e, "loc": (i, *e["loc"][1:])} for e in exc.errors()]
        return validated, errors


# A failed check: reason, the field it is about, and what is wrong with it.
_Problem = tuple[InvalidReason, str, str]


def _check_all(
    items: Sequence[object],
    validated: list[tuple[int, Event]],
    context: _Context,
    rejected: list[Rejection],
) -> list[Event]:
    accepted: list[Event] = []
    for position, event in validated:
        problem = _check(event, context)
        if problem is None:
            accepted.append(event)
            if type(event) is WardRegistered:
                context.registered[event.ward_id] = Ward.from_event(event)
            continue
        reason, name, message = problem
        where = context.prefix(position)
        rejected.append(
            Rejection(
                reason,
                _cut(f"{where}.{name}: {message}" if where else f"{name}: {message}"),
                str(event.event_id),
                event.ward_id,
                event.source,
                context.raw_of(items[position]),
                position,
            )
        )
    return accepted


def _check(event: StreamEvent, context: _Context) -> _Problem | None:
    """Reference, future and plausibility checks of one schema-valid event (a model or
    its ``schemas.wire`` struct). The hot path: plain comparisons; strings are built only
    for a problem."""
    if context.source is not None and event.source != context.source:
        return (
            InvalidReason.SCHEMA_VIOLATION,
            "source",
            f"{event.source!r} differs from the batch source {context.source!r}",
        )
    # Dispatch on the tag, which models and structs share (cheaper than isinstance on
    # the hot path, at the price of the ignores below).
    kind = event.type
    if kind == "ward_registered":
        return _check_registration(event, context)  # type: ignore[arg-type]
    ward = context.registered.get(event.ward_id) if context.registered else None
    if ward is None:
        ward = context.wards.get(event.ward_id)
    if ward is None:
        return InvalidReason.UNKNOWN_WARD, "ward_id", f"unknown ward {event.ward_id}"
    if context.hospital_id is not None and ward.hospital_id != context.hospital_id:
        return (
            InvalidReason.WRONG_HOSPITAL,
            "ward_id",
            f"ward {event.ward_id} belongs to hospital {ward.hospital_id}, "
            f"not {context.hospital_id}",
        )
    if event.occurred_at > context.latest:
        return _in_future(event, context)
    if kind == "census":
        return _check_census(event, ward, context)  # type: ignore[arg-type]
    if kind == "movement":
        return _check_movement(event, context)  # type: ignore[arg-type]
    if kind == "capacity":
        return _check_capacity(event, ward, context)  # type: ignore[arg-type]
    if kind == "preparedness":
        return _check_preparedness(event, context)  # type: ignore[arg-type]
    return None


def _in_future(event: StreamEvent, context: _Context) -> _Problem:
    return (
        InvalidReason.IN_FUTURE,
        "occurred_at",
        f"{event.occurred_at.isoformat()} is more than "
        f"{context.limits.future_tolerance_s} s ahead of now",
    )


_CENSUS_COUNTS = (
    "pending_admissions",
    "expected_discharges_24h",
    "placed_elsewhere",
    "surge_beds_24h",
    "surge_beds_72h",
)


def _check_census(
    event: CensusSnapshot | WireCensus, ward: Ward, context: _Context
) -> _Problem | None:
    available = event.available_beds
    occupied = event.occupied
    physical = event.physical_beds
    if physical is None:
        physical = ward.physical_beds
    if occupied > context.occupied_factor * available + context.occupied_slack:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "occupied",
            f"{occupied} patients on {available} available beds (limit "
            f"{context.occupied_factor:g} × available + {context.occupied_slack})",
        )
    if available > context.available_factor * physical + context.available_slack:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "available_beds",
            f"{available} available beds on a ward of {physical} physical beds (limit "
            f"{context.available_factor:g} × physical + {context.available_slack})",
        )
    overcrowded = event.overcrowded
    if overcrowded is not None and overcrowded > occupied:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "overcrowded",
            f"{overcrowded} overcrowded of {occupied} occupied",
        )
    if event.outlying_hosted > occupied:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "outlying_hosted",
            f"{event.outlying_hosted} outlying patients of {occupied} occupied",
        )
    ceiling = context.count_factor * (physical if physical > available else available)
    ceiling += context.count_slack
    surge_24h = event.surge_beds_24h
    surge_72h = event.surge_beds_72h
    if (
        event.pending_admissions > ceiling
        or event.expected_discharges_24h > ceiling
        or event.placed_elsewhere > ceiling
        or (surge_24h is not None and surge_24h > ceiling)
        or (surge_72h is not None and surge_72h > ceiling)
    ):
        name = next(n for n in _CENSUS_COUNTS if (getattr(event, n) or 0) > ceiling)
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            name,
            f"{getattr(event, name)} on a ward of {physical} physical beds (limit "
            f"{context.count_factor:g} × beds + {context.count_slack})",
        )
    if surge_24h is not None and surge_72h is not None and surge_72h < surge_24h:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "surge_beds_72h",
            f"{surge_72h} is fewer than surge_beds_24h {surge_24h} "
            "(beds that open within 24 h are open within 72 h too)",
        )
    return None


def _check_movement(event: PatientMovement | WireMovement, context: _Context) -> _Problem | None:
    for name in ("responsible_ward_id", "from_ward_id", "to_ward_id"):
        other = getattr(event, name)
        if other is not None and context.ward(other) is None:
            return InvalidReason.UNKNOWN_WARD, name, f"unknown ward {other}"
    return None


def _check_capacity(
    event: CapacityChange | WireCapacity, ward: Ward, context: _Context
) -> _Problem | None:
    limits = context.limits
    ceiling = limits.capacity_change_factor * ward.physical_beds + limits.capacity_change_slack
    if abs(event.change) > ceiling:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "change",
            f"{event.change:+d} beds on a ward of {ward.physical_beds} physical beds "
            f"(limit {limits.capacity_change_factor:g} × physical + "
            f"{limits.capacity_change_slack})",
        )
    if event.effective_at is not None and event.effective_at > context.latest_effective:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "effective_at",
            f"{event.effective_at.isoformat()} is more than "
            f"{limits.max_effective_ahead_s} s ahead of now",
        )
    return None


def _check_preparedness(event: PreparednessDeclared, context: _Context) -> _Problem | None:
    reference = context.reference
    if event.region_code not in reference.regions:
        return InvalidReason.UNKNOWN_WARD, "region_code", f"unknown region {event.region_code}"
    ward = context.ward(event.ward_id)
    hospital = reference.hospitals.get(ward.hospital_id) if ward is not None else None
    if hospital is not None and hospital.region_code != event.region_code:
        return (
            InvalidReason.FORBIDDEN_WARD,
            "region_code",
            f"ward {event.ward_id} of region {hospital.region_code} cannot declare the "
            f"level of region {event.region_code}",
        )
    return None


def _check_registration(event: WardRegistered, context: _Context) -> _Problem | None:
    if event.hospital_id not in context.reference.hospitals:
        return (
            InvalidReason.UNKNOWN_WARD,
            "hospital_id",
            f"unknown hospital {event.hospital_id}",
        )
    if context.hospital_id is not None and event.hospital_id != context.hospital_id:
        return (
            InvalidReason.WRONG_HOSPITAL,
            "hospital_id",
            f"{event.hospital_id} in a message for {context.hospital_id}",
        )
    existing = context.ward(event.ward_id)
    if existing is not None and existing.hospital_id != event.hospital_id:
        # Moving a ward would move its events to another partition mid-stream.
        return (
            InvalidReason.WRONG_HOSPITAL,
            "hospital_id",
            f"ward {event.ward_id} belongs to hospital {existing.hospital_id}; "
            "register a new ward id instead",
        )
    if event.occurred_at > context.latest:
        return _in_future(event, context)
    limits = context.limits
    ceiling = limits.available_factor * event.physical_beds + limits.available_slack
    if event.typical_available_beds > ceiling:
        return (
            InvalidReason.IMPLAUSIBLE_VALUE,
            "typical_available_beds",
            f"{event.typical_available_beds} available beds on a ward of "
            f"{event.physical_beds} physical beds",
        )
    return None


def _schema_violation(
    item: object, position: int, errors: list[ErrorDetails], context: _Context
) -> Rejection:
    fields = item if isinstance(item, dict) else {}
    tag = fields.get("type")
    detail = _format_errors(errors, context.prefix(position), tag if isinstance(tag, str) else None)
    return Rejection(
        InvalidReason.SCHEMA_VIOLATION,
        detail,
        _short(fields.get("event_id")),
        _short(fields.get("ward_id")),
        _short(fields.get("source")) or context.source,
        context.raw_of(item),
        position,
    )


def _format_errors(errors: list[ErrorDetails], prefix: str, tag: str | None) -> str:
    parts = []
    for error in errors[:_MAX_ERRORS_SHOWN]:
        location = list(error["loc"])
        if prefix and location:
            location = location[1:]  # the list position, already in the prefix
        elif not prefix and location and isinstance(location[0], int):
            location = location[1:]
        if tag is not None and location and location[0] == tag:
            location = location[1:]  # the union's tag: not a field of the event
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location.append("type")  # the discriminator is a field the sender got wrong
        path = prefix
        for part in location:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        parts.append(f"{path}: {error['msg']}" if path else error["msg"])
    if len(errors) > _MAX_ERRORS_SHOWN:
        parts.append(f"and {len(errors) - _MAX_ERRORS_SHOWN} more")
    return _cut("; ".join(parts))


def _reject_all(
    items: Sequence[object],
    positions: Sequence[int],
    context: _Context,
    reason: InvalidReason,
    detail: str,
    rejected: list[Rejection],
) -> DecodeResult[Event]:
    for position in positions:
        item = items[position]
        fields = item if isinstance(item, dict) else {}
        rejected.append(
            Rejection(
                reason,
                _cut(detail),
                _short(fields.get("event_id")),
                _short(fields.get("ward_id")),
                _short(fields.get("source")),
                context.raw_of(item),
                position,
            )
        )
    rejected.sort(key=_by_index)
    return DecodeResult([], rejected, len(items))


def _with_raw(rejection: Rejection, raw: str) -> Rejection:
    return Rejection(rejection.reason, rejection.detail, raw=raw, index=rejection.index)


def _personal_data(item: object, where: str, index: int | None) -> Rejection:
    event_id = item.get("event_id") if isinstance(item, dict) else None
    return Rejection(
        InvalidReason.PERSONAL_DATA,
        _cut(
            f"{where}: holds a Swedish personal identity number (personnummer); "
            "personal data is not accepted and the payload was dropped"
        ),
        event_id=_readable_uuid(event_id),
        index=index,
    )


def _readable_uuid(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return None


def _short(value: object) -> str | None:
    return value[:_MAX_ID_CHARS] if isinstance(value, str) else None


def _text(raw: bytes, limits: ValidationLimits) -> str:
    return raw[: limits.max_raw_chars * 4].decode("utf-8", errors="replace")[: limits.max_raw_chars]


def _cut(detail: str) -> str:
    return detail if len(detail) <= MAX_DETAIL_CHARS else detail[: MAX_DETAIL_CHARS - 1] + "…"
