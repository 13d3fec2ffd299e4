"""The msgspec mirror (schemas.wire) and the stream's decoding (decode_stream_message).

The stream's fast path may refuse more than the contract (the pydantic path then decides),
never accept more: for any input, the stream's decoding gives the events and rejections
``decode_message`` gives.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticUndefined

from schemas.personal_data import (
    contains_personnummer,
    contains_personnummer_besides,
    hsa_prefix,
)
from schemas.validation import DecodeResult, ValidationLimits, decode_stream_message
from schemas.wire import MODEL_OF, WIRE_TYPES, WireCensus, WireMovement, event_json, to_model
from tests.schemas.test_validation import (
    BAD_INPUT,
    HOSPITAL,
    NOW,
    OTHER_WARD,
    PNR,
    PNR_DASHED,
    SOURCE,
    WARD,
    batch,
    capacity,
    census,
    decode,
    movement,
    one,
    preparedness,
    reference,
    registration,
)


def stream_decode(raw: bytes, hospital_id: str | None = None) -> DecodeResult[Any]:
    return decode_stream_message(
        raw, reference=reference(), limits=ValidationLimits(), now=NOW, hospital_id=hospital_id
    )


def outcome(result: DecodeResult[Any]) -> tuple[object, ...]:
    return (
        [to_model(event).model_dump() for event in result.accepted],
        [(r.reason, r.index, r.detail, r.raw, r.event_id) for r in result.rejected],
        result.item_count,
    )


def assert_same(raw: bytes, hospital_id: str | None = None) -> DecodeResult[Any]:
    stream = stream_decode(raw, hospital_id)
    model = decode(raw, hospital_id=hospital_id)
    assert outcome(stream) == outcome(model)
    return stream


# -- the mirror ---------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRE_TYPES, ids=lambda t: t.__name__)
def test_the_mirror_has_the_models_fields_and_defaults(wire: type[Any]) -> None:
    model = MODEL_OF[wire]
    mirrored = {f.name: f for f in msgspec.structs.fields(wire)}
    fields = {name: f for name, f in model.model_fields.items() if name != "type"}
    assert sorted(mirrored) == sorted(fields)
    for name, field in fields.items():
        required = field.default is PydanticUndefined
        assert mirrored[name].required is required, name
        if not required:
            assert mirrored[name].default == field.default, name


def test_a_clean_batch_takes_the_fast_path() -> None:
    raw = batch(census(), movement(), capacity(), census(type="heartbeat"))
    raw = raw.replace(b',"available_beds":26,"occupied":24}]', b"}]")  # the heartbeat's counts
    result = assert_same(raw, HOSPITAL)
    assert [type(e) for e in result.accepted][:2] == [WireCensus, WireMovement]
    assert result.rejected == []


def test_rare_types_take_the_model_path() -> None:
    result = assert_same(batch(census(), preparedness(), registration()), HOSPITAL)
    assert all(type(e) not in WIRE_TYPES for e in result.accepted)


def test_event_json_is_the_models_serialisation() -> None:
    raw = batch(movement(action="transfer", from_ward_id=OTHER_WARD, to_ward_id=WARD))
    [event] = stream_decode(raw).accepted
    [model] = decode(raw).accepted
    assert type(event) is WireMovement
    assert event_json(event) == model.model_dump_json()
    assert event.is_outlying is model.is_outlying  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "hospital_id"),
    [
        pytest.param(raw, hospital_id, id=f"{name}-{hospital_id}")
        for name, raw, _, _ in BAD_INPUT
        for hospital_id in (None, HOSPITAL)
    ],
)
def test_every_class_of_bad_input_is_decided_alike(raw: bytes, hospital_id: str | None) -> None:
    assert_same(raw, hospital_id)


# Each boundary the fast path checks itself, next to the model's validators and patterns.
_BOUNDARIES = [
    movement(encounter_ref="a b"),
    movement(encounter_ref="é"),
    movement(encounter_ref="a/b"),
    movement(encounter_ref="x" * 65),
    movement(encounter_ref=""),
    movement(action="transfer", from_ward_id=WARD, to_ward_id=WARD),
    movement(action="transfer", from_ward_id=OTHER_WARD),
    movement(action="transfer", from_ward_id=OTHER_WARD, to_ward_id="SE2321000016-H001ONK1"),
    movement(action="admit", to_ward_id=OTHER_WARD),
    movement(action="cancel"),
    movement(action="admit", cancels_event_id=str(uuid.uuid4())),
    movement(responsible_ward_id="MED1"),
    capacity(change=0),
    census(ward_id="SE2321000016-H001MED1 "),
    census(source=""),
    census(occurred_at="2025-01-14T08:55:00.9999999Z"),
]


@pytest.mark.parametrize(
    "event", _BOUNDARIES, ids=lambda e: str(e.get("encounter_ref", e.get("type")))
)
@pytest.mark.parametrize("as_batch", [False, True])
def test_each_boundary_is_decided_alike(event: dict[str, Any], as_batch: bool) -> None:
    result = assert_same(batch(census(), event) if as_batch else one(event), HOSPITAL)
    assert len(result.rejected) == 1 or "9999999" in orjson.dumps(event).decode()
    assert all(type(e) not in WIRE_TYPES for e in result.accepted)


# -- generated input: the two paths agree --------------------------------------------------

_TIMES = st.builds(
    lambda minutes, fraction, zone, sep: (
        (NOW - timedelta(minutes=minutes)).strftime(f"%Y-%m-%d{sep}%H:%M:%S") + fraction + zone
    ),
    st.integers(0, 600),
    st.sampled_from(["", ".5", ".123456", ".1234567", ".9999999", ".999999999", ",5", "."]),
    st.sampled_from(["Z", "z", "+00:00", "+01:00", "-05:30", "+0100", "", "+01", "+24:00"]),
    st.sampled_from(["T", "t", " ", "X"]),
)
_IDS = st.builds(
    lambda u, form: form(u),
    st.uuids(),
    st.sampled_from(
        [str, lambda u: str(u).upper(), lambda u: u.hex, lambda u: f"{{{u}}}", lambda u: u.urn]
    ),
)
_REFS = st.sampled_from(["VT-1", "a.b:c_d-e", "", "x" * 64, "x" * 65, "é", "a b", "a/b", "a\nb"])
_WARDS = st.sampled_from([WARD, OTHER_WARD, "SE2321000016-H001ZZZ1", "MED1", None])

_EVENTS = st.one_of(
    st.builds(
        lambda t, i, occ, over, extra: census(
            occurred_at=t, event_id=i, occupied=occ, overcrowded=over, **extra
        ),
        _TIMES,
        _IDS,
        st.one_of(st.integers(-1, 60), st.just(7.0), st.just("7"), st.just(True)),
        st.one_of(st.none(), st.integers(0, 30)),
        st.sampled_from([{}, {"physical_beds": 30}, {"note": "x"}, {"surge_beds_24h": 3}]),
    ),
    st.builds(
        lambda t, action, ref, resp, frm, to, cancels, med: movement(
            occurred_at=t,
            action=action,
            encounter_ref=ref,
            **({"responsible_ward_id": resp} if resp else {}),
            **({"from_ward_id": frm} if frm else {}),
            **({"to_ward_id": to} if to else {}),
            **({"cancels_event_id": cancels} if cancels else {}),
            **({"medically_motivated": med} if med is not None else {}),
        ),
        _TIMES,
        st.sampled_from(["admit", "discharge", "transfer", "cancel", "ADMIT"]),
        _REFS,
        _WARDS,
        _WARDS,
        _WARDS,
        st.one_of(st.none(), _IDS),
        st.sampled_from([None, True, False, "yes", 1]),
    ),
    st.builds(
        lambda t, change, effective, reason: capacity(
            occurred_at=t,
            change=change,
            reason=reason,
            **({"effective_at": effective} if effective else {}),
        ),
        _TIMES,
        st.sampled_from([-2, 0, 3, 500, -10_001]),
        st.one_of(st.none(), _TIMES),
        st.sampled_from(["staffing", "surge", "Staffing"]),
    ),
    st.builds(lambda t: census(type="heartbeat", occurred_at=t), _TIMES).map(
        lambda e: {k: v for k, v in e.items() if k not in ("available_beds", "occupied")}
    ),
    st.just(preparedness()),
)


@settings(max_examples=400, deadline=None)
@given(
    events=st.lists(_EVENTS, min_size=1, max_size=6),
    as_batch=st.booleans(),
    keyed=st.booleans(),
)
def test_generated_input_is_decided_alike(
    events: list[dict[str, Any]], as_batch: bool, keyed: bool
) -> None:
    raw = batch(*events) if as_batch else one(events[0])
    assert_same(raw, HOSPITAL if keyed else None)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(_EVENTS, min_size=1, max_size=4), where=st.integers(0, 3))
def test_personal_data_anywhere_is_decided_alike(events: list[dict[str, Any]], where: int) -> None:
    events = [{**e, "event_id": str(uuid.uuid4())} for e in events]
    target = events[where % len(events)]
    target["source"] = f"{SOURCE} {PNR_DASHED}" if where % 2 else SOURCE
    if target.get("type") == "movement":
        target["encounter_ref"] = f"VT{PNR}"
    assert_same(batch(*events), HOSPITAL)


def test_a_duplicate_key_hiding_personal_data_is_decided_alike() -> None:
    raw = one(movement()).replace(b'"action"', f'"encounter_ref":"{PNR}","action"'.encode())
    result = assert_same(raw, HOSPITAL)
    assert result.accepted == []


# -- the personnummer scan beside a known HSA prefix ---------------------------------------

_PREFIX = hsa_prefix(HOSPITAL)
_FRAGMENTS = st.sampled_from(
    [
        "SE2321000016-",
        "SE2321000016",
        "2321000016-",
        PNR,
        PNR[2:],
        PNR_DASHED,
        PNR_DASHED[2:],
        "-",
        "+",
        "0",
        "1234",
        "850312",
        "19850312",
        '"',
        ".",
        "E",
        "S",
        " ",
    ]
)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(_FRAGMENTS, max_size=8))
def test_the_scan_beside_a_prefix_finds_what_the_full_scan_finds(parts: list[str]) -> None:
    assert _PREFIX is not None
    data = "".join(parts).encode()
    assert contains_personnummer_besides(data, _PREFIX) is contains_personnummer(data)


def test_an_organisation_number_that_is_a_personnummer_is_never_skipped() -> None:
    assert hsa_prefix(f"SE{PNR[2:]}-A001") is None
    assert hsa_prefix("MED1") is None
    assert hsa_prefix(HOSPITAL) == b"SE2321000016-"


def test_messages_keyed_by_hospital_scan_like_unkeyed_ones() -> None:
    raw = orjson.dumps({"source": SOURCE, "hospital_id": HOSPITAL, "events": [census()]})
    assert outcome(stream_decode(raw, HOSPITAL)) == outcome(stream_decode(raw, None))
