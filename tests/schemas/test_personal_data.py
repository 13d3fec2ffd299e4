"""Detection of Swedish personal identity numbers (schemas.personal_data)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.personal_data import (
    contains_personnummer,
    find_personnummer,
    is_personnummer,
    luhn_check_digit,
    luhn_valid,
    personal_data_paths,
)


def pnr(yymmdd: str, serial: str = "123") -> str:
    """A 10-digit personnummer with a valid check digit."""
    nine = yymmdd + serial
    return nine + luhn_check_digit(nine)


VALID = pnr("850312")  # 850312-123x
WRONG_LUHN = VALID[:9] + str((int(VALID[9]) + 1) % 10)


def test_luhn_known_value() -> None:
    # The Skatteverket example: 811218-9876.
    assert luhn_valid("8112189876")
    assert not luhn_valid("8112189875")
    assert luhn_check_digit("811218987") == "6"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID, True),  # YYMMDDNNNN
        (f"{VALID[:6]}-{VALID[6:]}", True),  # YYMMDD-NNNN
        (f"{VALID[:6]}+{VALID[6:]}", True),  # aged 100 or more
        (f"19{VALID}", True),  # YYYYMMDDNNNN
        (f"19{VALID[:6]}-{VALID[6:]}", True),  # YYYYMMDD-NNNN
        (pnr("850372"), True),  # samordningsnummer: day 12 + 60
        (pnr("000229"), True),  # 29 Feb 2000 (leap year in some century)
        (WRONG_LUHN, False),
        (f"19{WRONG_LUHN[:6]}-{WRONG_LUHN[6:]}", False),
        (pnr("851312"), False),  # month 13
        (pnr("850230"), False),  # 30 February
        (pnr("850300"), False),  # day 0
        (pnr("850392"), False),  # day 32 + 60
        (f"17{VALID}", False),  # year 1785: no living person
        ("2321000016", False),  # an organisation number (month 21): every HSA id has one
        (f"{VALID[:6]}--{VALID[6:]}", False),
    ],
)
def test_is_personnummer(text: str, expected: bool) -> None:
    assert is_personnummer(text) is expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"encounter {VALID} here", True),
        (f"enc-{VALID[:6]}-{VALID[6:]}", True),
        (f"x{VALID}y", True),  # letters around: still a number
        (f'"encounter_ref":"19{VALID}"', True),
        (f"1{VALID}", False),  # 11 digits: a longer number, not a personnummer
        (f"{VALID}1", False),
        (f"SE2321000016-H001MED1 {WRONG_LUHN}", False),
        ("SE2321000016-H001MED1", False),
        # Timestamps: the fraction of a second may look like YYMMDD, but it follows "<d>."
        (f"2025-01-14T10:00:00.{VALID[:6]}+{VALID[6:]}", False),
    ],
)
def test_contains_personnummer(text: str, found: bool) -> None:
    assert contains_personnummer(text) is found
    assert contains_personnummer(text.encode()) is found


def test_uuid_groups_are_not_personal_data() -> None:
    # The first two groups of this UUID read as 19850312-1234 with a valid check digit
    # (and the last group as 12 digits): a UUID is not a personnummer.
    twelve = "19" + VALID
    event_id = f"{twelve[:8]}-{twelve[8:]}-4abc-8def-{twelve}"
    assert str(uuid.UUID(event_id)) == event_id
    assert not contains_personnummer(event_id.encode())
    assert not contains_personnummer(event_id)
    # ...but the same digits next to a UUID are.
    assert contains_personnummer(f"{uuid.uuid4()} {twelve}".encode())


def test_spans_are_byte_offsets() -> None:
    text = f"ref: {VALID[:6]}-{VALID[6:]}."
    assert find_personnummer(text.encode()) == [(5, 16)]
    assert find_personnummer(text) == [(5, 16)]


def test_personal_data_paths_name_fields_never_numbers() -> None:
    value = {
        "source": "x",
        "events": [{"encounter_ref": f"P{VALID}"}, {"n": int(VALID)}, {f"k{VALID}": 1}],
    }
    paths = personal_data_paths(value)
    assert paths == ["events[0].encounter_ref", "events[1].n", "events[2].<key>"]
    assert all(VALID not in path for path in paths)


# Property tests ------------------------------------------------------------------------


@st.composite
def personnummer(draw: st.DrawFn) -> str:
    """Any valid personnummer or samordningsnummer, in any of the written forms."""
    born = draw(st.dates(min_value=date(1890, 1, 1), max_value=date(2025, 12, 31)))
    coordination = draw(st.booleans())
    day = born.day + (60 if coordination else 0)
    serial = draw(st.integers(0, 999))
    nine = f"{born:%y%m}{day:02d}{serial:03d}"
    ten = nine + luhn_check_digit(nine)
    form = draw(st.sampled_from(["10", "10-", "10+", "12", "12-"]))
    century = f"{born.year // 100}"
    return {
        "10": ten,
        "10-": f"{ten[:6]}-{ten[6:]}",
        "10+": f"{ten[:6]}+{ten[6:]}",
        "12": century + ten,
        "12-": f"{century}{ten[:6]}-{ten[6:]}",
    }[form]


_SURROUNDINGS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="0123456789"))


@settings(max_examples=300)
@given(number=personnummer(), before=_SURROUNDINGS, after=_SURROUNDINGS)
def test_valid_numbers_are_always_found(number: str, before: str, after: str) -> None:
    text = f"{before} {number} {after}"
    assert contains_personnummer(text.encode())
    assert contains_personnummer(text)


@settings(max_examples=300)
@given(number=personnummer())
def test_a_wrong_check_digit_is_never_found(number: str) -> None:
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not contains_personnummer(wrong.encode())


_DIGITISH = st.text(alphabet="0123456789-+ ax.", min_size=0, max_size=60)


@settings(max_examples=500)
@given(text=_DIGITISH)
@example(text=f"{VALID}-{VALID}")
@example(text=f"19{VALID[:6]}-{VALID[6:]}-1234")
@example(text=f"{VALID[:6]}-{VALID[6:]}+{VALID[6:]}")
def test_fast_byte_scan_agrees_with_the_regex(text: str) -> None:
    """The bytes path (translate + find) finds exactly what the plain regex path finds."""
    assert find_personnummer(text.encode("ascii")) == find_personnummer(text)


@settings(max_examples=200)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_every_real_date_is_a_date(day: date) -> None:
    nine = f"{day:%y%m%d}000"
    assert is_personnummer(f"{day:%Y}" + nine[2:] + luhn_check_digit(nine))
    impossible = day.replace(day=1) - timedelta(days=1)  # last day of the previous month
    bad = f"{impossible:%y%m}{impossible.day + 1:02d}000"
    if impossible.day + 1 <= 31:
        assert not is_personnummer(f"{impossible:%Y}"[:2] + bad + luhn_check_digit(bad))
