"""The one validation path (schemas.validation.decode_message)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capmon.settings import Settings
from schemas.events import CensusSnapshot, Event, PatientMovement, WardRegistered
from schemas.generate import EXAMPLES_DIR
from schemas.messages import InvalidEventRecord, InvalidReason
from schemas.personal_data import luhn_check_digit
from schemas.reference import ReferenceData, load_reference
from schemas.validation import DecodeResult, Rejection, ValidationLimits, decode_message

NOW = datetime(2025, 1, 14, 9, 0, tzinfo=UTC)
HOSPITAL = "SE2321000016-H001"  # Karolinska Solna
WARD = "SE2321000016-H001MED1"  # 29 physical beds
OTHER_WARD = "SE2321000016-H001KAR1"
FOREIGN_WARD = "SE2321000024-H001MED1"  # Akademiska (region 03)
SOURCE = "cosmic-adt@karolinska"
_NINE = "850312123"
PNR = "19" + _NINE + luhn_check_digit(_NINE)  # 12 digits, valid check digit
PNR_DASHED = f"{PNR[:8]}-{PNR[8:]}"
NOT_PNR = PNR[:-1] + str((int(PNR[-1]) + 1) % 10)  # same shape, Luhn fails


@cache
def reference() -> ReferenceData:
    return load_reference()


def census(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": SOURCE,
        "ward_id": WARD,
        "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
        "available_beds": 26,
        "occupied": 24,
    }
    event.update(fields)
    return event


def movement(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "movement",
        "event_id": str(uuid.uuid4()),
        "source": SOURCE,
        "ward_id": WARD,
        "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
        "action": "admit",
        "encounter_ref": "VT-7f3a9c2e41",
    }
    event.update(fields)
    return event


def capacity(**fields: Any) -> dict[str, Any]:
    event = census(type="capacity", change=-2, reason="staffing")
    del event["available_beds"], event["occupied"]
    event.update(fields)
    return event


def preparedness(**fields: Any) -> dict[str, Any]:
    event = census(type="preparedness", region_code="01", level="stabslage")
    del event["available_beds"], event["occupied"]
    event.update(fields)
    return event


def registration(**fields: Any) -> dict[str, Any]:
    event = census(
        type="ward_registered",
        ward_id="SE2321000016-H001MED9",
        hospital_id=HOSPITAL,
        name="Medicinavdelning 9",
        care_type="somatic_acute",
        specialty="internal_medicine",
        physical_beds=18,
        typical_available_beds=16,
    )
    del event["available_beds"], event["occupied"]
    event.update(fields)
    return event


def batch(*events: dict[str, Any], **fields: Any) -> bytes:
    message: dict[str, Any] = {"source": SOURCE, "hospital_id": HOSPITAL, "events": list(events)}
    message.update(fields)
    return orjson.dumps(message)


def decode(raw: bytes, **kwargs: Any) -> DecodeResult[Event]:
    kwargs.setdefault("limits", ValidationLimits())
    return decode_message(raw, reference=reference(), now=NOW, **kwargs)


def one(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


# One row per class of bad input: (raw message, reason, text the detail must contain).
BAD_INPUT: list[tuple[str, bytes, InvalidReason, str]] = [
    ("malformed json", b'{"type": "census", "occupied": ', InvalidReason.MALFORMED_JSON, "JSON"),
    ("not utf-8", b'{"source": "\xff"}', InvalidReason.MALFORMED_JSON, "malformed"),
    ("not an object", b"[1, 2, 3]", InvalidReason.SCHEMA_VIOLATION, "event object"),
    (
        "negative count",
        one(census(occupied=-1)),
        InvalidReason.SCHEMA_VIOLATION,
        "occupied: Input should be greater than or equal to 0",
    ),
    (
        "negative count in a batch: field path with the item index",
        batch(census(), census(), census(), census(occupied=-1)),
        InvalidReason.SCHEMA_VIOLATION,
        "events[3].occupied: Input should be greater than or equal to 0",
    ),
    (
        "naive datetime",
        one(census(occurred_at="2025-01-14T08:55:00")),
        InvalidReason.SCHEMA_VIOLATION,
        "occurred_at: Input should have timezone info",
    ),
    (
        "unknown type",
        one(census(type="bedcount")),
        InvalidReason.SCHEMA_VIOLATION,
        "type: Input tag 'bedcount' found using 'type' does not match",
    ),
    (
        "missing field",
        one({k: v for k, v in census().items() if k != "event_id"}),
        InvalidReason.SCHEMA_VIOLATION,
        "event_id: Field required",
    ),
    (
        "unknown field",
        one(census(patient_name="x")),
        InvalidReason.SCHEMA_VIOLATION,
        "patient_name: Extra inputs are not permitted",
    ),
    (
        "bad ward id",
        one(census(ward_id="MED1")),
        InvalidReason.SCHEMA_VIOLATION,
        "ward_id: String should",
    ),
    (
        "transfer without its wards",
        one(movement(action="transfer")),
        InvalidReason.SCHEMA_VIOLATION,
        "a transfer needs from_ward_id and to_ward_id",
    ),
    (
        "item source differs from the batch",
        batch(census(source="other-system")),
        InvalidReason.SCHEMA_VIOLATION,
        "events[0].source:",
    ),
    (
        "unknown ward",
        one(census(ward_id="SE2321000016-H001ZZZ1")),
        InvalidReason.UNKNOWN_WARD,
        "ward_id: unknown ward SE2321000016-H001ZZZ1",
    ),
    (
        "unknown ward on the other side of a transfer",
        one(movement(action="transfer", from_ward_id="SE2321000016-H001ZZZ1", to_ward_id=WARD)),
        InvalidReason.UNKNOWN_WARD,
        "from_ward_id: unknown ward",
    ),
    (
        "unknown region",
        one(preparedness(region_code="02")),
        InvalidReason.UNKNOWN_WARD,
        "region_code: unknown region 02",
    ),
    (
        "ward of another hospital in a batch",
        batch(census(ward_id=FOREIGN_WARD)),
        InvalidReason.WRONG_HOSPITAL,
        f"events[0].ward_id: ward {FOREIGN_WARD} belongs to hospital SE2321000024-H001",
    ),
    (
        "a ward declaring another region's level",
        one(preparedness(region_code="03")),
        InvalidReason.FORBIDDEN_WARD,
        "region_code:",
    ),
    (
        "occupied far above available",
        one(census(available_beds=20, occupied=80)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "occupied: 80 patients on 20 available beds",
    ),
    (
        "available far above physical beds",
        one(census(available_beds=120, occupied=100)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "available_beds: 120 available beds on a ward of 29 physical beds",
    ),
    (
        "more overcrowded than occupied",
        one(census(occupied=10, overcrowded=11)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "overcrowded:",
    ),
    (
        "more outlying hosted than occupied",
        one(census(occupied=10, outlying_hosted=11)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "outlying_hosted:",
    ),
    (
        "absurd pending admissions",
        one(census(pending_admissions=5000)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "pending_admissions: 5000",
    ),
    (
        "fewer surge beds in 72 h than in 24 h",
        one(census(surge_beds_24h=6, surge_beds_72h=2)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "surge_beds_72h:",
    ),
    (
        "capacity change larger than the ward",
        one(capacity(change=-300)),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "change: -300 beds",
    ),
    (
        "capacity change effective years ahead",
        one(capacity(effective_at="2030-01-01T00:00:00+01:00")),
        InvalidReason.IMPLAUSIBLE_VALUE,
        "effective_at:",
    ),
    (
        "event time in the future",
        one(census(occurred_at=(NOW + timedelta(hours=1)).isoformat())),
        InvalidReason.IN_FUTURE,
        "occurred_at: 2025-01-14T10:00:00+00:00 is more than 300 s ahead of now",
    ),
    (
        "personnummer as the encounter reference",
        one(movement(encounter_ref=PNR_DASHED)),
        InvalidReason.PERSONAL_DATA,
        "encounter_ref: holds a Swedish personal identity number",
    ),
    (
        "personnummer hidden in an opaque encounter reference",
        one(movement(encounter_ref=f"VT-{PNR}")),
        InvalidReason.PERSONAL_DATA,
        "encounter_ref:",
    ),
    (
        "personnummer hidden in the free-text source",
        batch(census(), census(source=f"{SOURCE} pat {PNR[2:]}")),
        InvalidReason.PERSONAL_DATA,
        "events[1].source:",
    ),
    (
        "personnummer as a number",
        one(census(occupied=int(PNR))),
        InvalidReason.PERSONAL_DATA,
        "occupied:",
    ),
    (
        "personnummer in an unknown field",
        one(census(note=f"pnr {PNR_DASHED}")),
        InvalidReason.PERSONAL_DATA,
        "note:",
    ),
    (
        "personnummer behind JSON escapes",
        one(movement(encounter_ref="VT-X")).replace(
            b"VT-X", "".join(f"\\u{ord(c):04x}" for c in PNR).encode()
        ),
        InvalidReason.PERSONAL_DATA,
        "encounter_ref:",
    ),
    (
        "personnummer in malformed JSON",
        f'{{"encounter_ref": "{PNR}", '.encode(),
        InvalidReason.PERSONAL_DATA,
        "message:",
    ),
]


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [pytest.param(raw, reason, detail, id=name) for name, raw, reason, detail in BAD_INPUT],
)
def test_bad_input_is_rejected_with_its_reason(
    raw: bytes, reason: InvalidReason, detail: str
) -> None:
    result = decode(raw)
    [rejection] = result.rejected  # every row has exactly one bad item
    assert rejection.reason is reason
    assert detail in rejection.detail
    assert len(result.accepted) == max(0, result.item_count - 1)
    if reason is InvalidReason.PERSONAL_DATA:
        assert rejection.raw is None
        assert PNR[2:] not in rejection.detail


def test_a_number_that_fails_luhn_is_accepted() -> None:
    result = decode(one(movement(encounter_ref=NOT_PNR)))
    assert result.rejected == []
    [event] = result.accepted
    assert isinstance(event, PatientMovement)
    assert event.encounter_ref == NOT_PNR


def test_personal_data_keeps_only_reason_and_event_id() -> None:
    event = movement(encounter_ref=PNR_DASHED)
    good = census()
    result = decode(batch(good, event))
    assert [str(e.event_id) for e in result.accepted] == [good["event_id"]]
    [rejection] = result.rejected
    assert rejection.reason is InvalidReason.PERSONAL_DATA
    assert rejection.event_id == event["event_id"]
    assert rejection.index == 1
    assert (rejection.raw, rejection.ward_id, rejection.source) == (None, None, None)
    for text in (PNR, PNR_DASHED, PNR[2:], _NINE):
        assert text not in rejection.detail
    record = rejection.to_record(received_at=NOW, origin="http")
    assert isinstance(record, InvalidEventRecord)
    assert PNR not in record.model_dump_json()
    assert _NINE not in record.model_dump_json()


def test_personal_data_outside_the_items_rejects_the_whole_message() -> None:
    events = [census(), census()]
    result = decode(batch(*events, source=f"adt {PNR_DASHED}"))
    assert result.accepted == []
    assert [r.reason for r in result.rejected] == [InvalidReason.PERSONAL_DATA] * 2
    assert [r.event_id for r in result.rejected] == [e["event_id"] for e in events]
    assert all(r.raw is None and PNR_DASHED not in r.detail for r in result.rejected)


def test_personal_data_hidden_by_a_duplicate_key_rejects_the_whole_message() -> None:
    # The parser keeps the last value, so no item holds the number once parsed; the raw
    # bytes do, and they are what would be stored.
    raw = one(census()).replace(b'"source"', f'"source":"{PNR}","source"'.encode(), 1)
    result = decode(raw)
    assert [r.reason for r in result.rejected] == [InvalidReason.PERSONAL_DATA]
    assert result.rejected[0].raw is None


def test_personal_data_event_id_survives_only_as_a_uuid() -> None:
    result = decode(one(movement(event_id=PNR_DASHED, encounter_ref=PNR_DASHED)))
    [rejection] = result.rejected
    assert rejection.reason is InvalidReason.PERSONAL_DATA
    assert rejection.event_id is None


def test_one_bad_item_rejects_only_itself() -> None:
    events = [census(occupied=i % 20) if i % 2 else movement() for i in range(50)]
    events[17] = census(occupied=-1)
    result = decode(batch(*events))
    assert result.item_count == 50
    assert [r.index for r in result.rejected] == [17]
    assert result.rejected[0].event_id == events[17]["event_id"]
    assert result.rejected[0].ward_id == WARD
    assert json.loads(result.rejected[0].raw or "") == events[17]
    expected = [e["event_id"] for i, e in enumerate(events) if i != 17]
    assert [str(e.event_id) for e in result.accepted] == expected


def test_rejections_come_in_item_order_and_keep_the_payload() -> None:
    events = [census(), census(ward_id="SE2321000016-H001ZZZ1"), census(occupied=-1), census()]
    result = decode(batch(*events))
    assert [(r.index, r.reason) for r in result.rejected] == [
        (1, InvalidReason.UNKNOWN_WARD),
        (2, InvalidReason.SCHEMA_VIOLATION),
    ]
    assert all(r.raw is not None and r.source == SOURCE for r in result.rejected)
    assert len(result.accepted) == 2


@pytest.mark.parametrize(
    ("raw", "kwargs", "reason"),
    [
        (batch(census(), census()), {"hospital_id": "SE2321000016-H002"}, "wrong_hospital"),
        (one(census()), {"hospital_id": "SE2321000016-H002"}, "wrong_hospital"),
        (batch(census(), hospital_id="SE2321000016-H999"), {}, "unknown_ward"),
        (batch(census(), hospital_id="Karolinska"), {}, "schema_violation"),
        (batch(census(), extra=1), {}, "schema_violation"),
    ],
    ids=[
        "batch-for-other-key",
        "event-for-other-key",
        "unknown-hospital",
        "bad-hospital-id",
        "batch-extra-field",
    ],
)
def test_envelope_problems_reject_every_item(
    raw: bytes, kwargs: dict[str, Any], reason: str
) -> None:
    result = decode(raw, **kwargs)
    assert result.accepted == []
    assert {r.reason.value for r in result.rejected} == {reason}
    assert [r.index for r in result.rejected] == list(range(result.item_count))


@pytest.mark.parametrize(
    ("events", "reason"),
    [([], InvalidReason.SCHEMA_VIOLATION), ([census()] * 3, InvalidReason.BATCH_TOO_LARGE)],
)
def test_whole_message_problems_have_no_index(
    events: list[dict[str, Any]], reason: InvalidReason
) -> None:
    result = decode(batch(*events), limits=ValidationLimits(max_batch_events=2))
    assert [(r.reason, r.index) for r in result.rejected] == [(reason, None)]


def test_events_not_a_list() -> None:
    result = decode(orjson.dumps({"source": SOURCE, "hospital_id": HOSPITAL, "events": {}}))
    assert [(r.reason, r.index) for r in result.rejected] == [
        (InvalidReason.SCHEMA_VIOLATION, None)
    ]


def test_a_registered_ward_is_known_to_the_items_after_it() -> None:
    register = registration()
    report = census(ward_id=register["ward_id"])
    result = decode(batch(register, report))
    assert result.rejected == []
    assert [type(e) for e in result.accepted] == [WardRegistered, CensusSnapshot]
    # ... but not before it, and not in the next message (until the caller applies it).
    result = decode(batch(report, register))
    assert [(r.index, r.reason) for r in result.rejected] == [(0, InvalidReason.UNKNOWN_WARD)]


def test_a_ward_cannot_move_to_another_hospital() -> None:
    result = decode(one(registration(ward_id=FOREIGN_WARD)))
    assert [r.reason for r in result.rejected] == [InvalidReason.WRONG_HOSPITAL]


def test_future_tolerance_is_configurable() -> None:
    raw = one(census(occurred_at=(NOW + timedelta(seconds=200)).isoformat()))
    assert decode(raw).rejected == []
    limits = ValidationLimits(future_tolerance_s=60)
    assert [r.reason for r in decode(raw, limits=limits).rejected] == [InvalidReason.IN_FUTURE]


def test_implausibility_thresholds_are_configurable() -> None:
    raw = one(census(available_beds=20, occupied=40))
    assert [r.reason for r in decode(raw).rejected] == [InvalidReason.IMPLAUSIBLE_VALUE]
    generous = ValidationLimits(occupied_factor=2.0)
    assert decode(raw, limits=generous).rejected == []


def test_limits_from_settings() -> None:
    limits = ValidationLimits.from_settings(
        Settings(future_tolerance_seconds=42), max_batch_events=100
    )
    assert (limits.future_tolerance_s, limits.max_batch_events) == (42, 100)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        decode_message(
            one(census()),
            reference=reference(),
            limits=ValidationLimits(),
            now=NOW.replace(tzinfo=None),
        )


def test_raw_is_cut_to_the_limit() -> None:
    raw = b'{"type": "census", "x": "' + b"a" * 500 + b'"'
    [rejection] = decode(raw, limits=ValidationLimits(max_raw_chars=100)).rejected
    assert rejection.reason is InvalidReason.MALFORMED_JSON
    assert rejection.raw is not None
    assert len(rejection.raw) == 100


def test_rejection_record_for_the_invalid_topic() -> None:
    [rejection] = decode(batch(census(occupied=-1))).rejected
    record = rejection.to_record(received_at=NOW, origin="kafka:capmon.events/0@7")
    assert record.reason is InvalidReason.SCHEMA_VIOLATION
    assert record.raw == rejection.raw
    assert record.detail.startswith("events[0].occupied")


_INBOUND_EXAMPLES = [
    "census_snapshot",
    "patient_movement",
    "capacity_change",
    "preparedness_declared",
    "heartbeat",
    "ward_registered",
    "event_batch",
]


@pytest.mark.parametrize("stem", _INBOUND_EXAMPLES)
def test_every_inbound_example_is_accepted(stem: str) -> None:
    raw = (EXAMPLES_DIR / f"{stem}.json").read_bytes()
    document = json.loads(raw)
    events = document.get("events", [document])
    now = max(datetime.fromisoformat(e["occurred_at"]) for e in events)
    result = decode_message(
        raw, reference=reference(), limits=ValidationLimits(), now=now, hospital_id=HOSPITAL
    )
    assert result.rejected == []
    assert len(result.accepted) == len(events) == result.item_count


# Property: whatever subset of a batch is bad, exactly that subset is rejected --------

_BREAKERS = {
    "schema": lambda e: {**e, "occupied": -3},
    "unknown": lambda e: {**e, "ward_id": "SE2321000016-H001ZZZ9"},
    "future": lambda e: {**e, "occurred_at": (NOW + timedelta(days=1)).isoformat()},
    "implausible": lambda e: {**e, "occupied": 999},
    "personal": lambda e: {**e, "source": f"{SOURCE} {PNR_DASHED}"},
    "not-an-object": lambda e: [e["event_id"]],
}


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 30),
    bad=st.dictionaries(st.integers(0, 29), st.sampled_from(sorted(_BREAKERS)), max_size=10),
)
def test_exactly_the_bad_items_are_rejected(size: int, bad: dict[int, str]) -> None:
    bad = {i: kind for i, kind in bad.items() if i < size}
    events: list[Any] = [census(occupied=i % 25) for i in range(size)]
    for i, kind in bad.items():
        events[i] = _BREAKERS[kind](events[i])
    result = decode(batch(*events))
    assert [r.index for r in result.rejected] == sorted(bad)
    good = [e["event_id"] for i, e in enumerate(events) if i not in bad]
    assert [str(e.event_id) for e in result.accepted] == good
    assert all(r.raw is None for r in result.rejected if r.reason is InvalidReason.PERSONAL_DATA)


def test_rejection_is_a_small_value_object() -> None:
    rejection = Rejection(InvalidReason.DUPLICATE, "seen before", event_id="x")
    assert (rejection.index, rejection.raw) == (None, None)


# The fast path (one validate_json call) must never change a result ------------------

_VARIANTS = st.sampled_from(
    [
        lambda: census(),
        lambda: census(occupied=3, overcrowded=1, physical_beds=30, surge_beds_24h=2),
        lambda: movement(),
        lambda: movement(action="transfer", from_ward_id=OTHER_WARD, to_ward_id=WARD),
        lambda: capacity(),
        lambda: preparedness(),
        lambda: registration(),
        lambda: census(schema_version=1.0),
        lambda: census(occupied="7"),
        lambda: census(occurred_at=1736845200),
        lambda: census(available_beds=True),
        lambda: movement(planned="yes"),
        lambda: census(ward_id=FOREIGN_WARD),
        lambda: census(occupied=-1),
    ]
)


def _outcome(result: DecodeResult[Event]) -> tuple[object, ...]:
    return (
        [event.model_dump() for event in result.accepted],
        [(r.reason, r.index, r.detail) for r in result.rejected],
        result.item_count,
    )


@settings(max_examples=150, deadline=None)
@given(makers=st.lists(_VARIANTS, min_size=1, max_size=8), as_batch=st.booleans())
def test_fast_path_agrees_with_the_item_by_item_path(makers: list[Any], as_batch: bool) -> None:
    from schemas.validation import _decode_parsed

    events = [make() for make in makers]
    raw = batch(*events) if as_batch else one(events[0])
    fast = decode(raw)
    slow = _decode_parsed(raw, False, reference(), ValidationLimits(), NOW, None)
    assert _outcome(fast) == _outcome(slow)
