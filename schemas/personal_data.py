"""Detection of Swedish personal identity numbers (personnummer) in raw input.

capmon never needs to know who a patient is, so input that carries a personnummer is
rejected and its payload is dropped (DOMAIN.md, "No personal data"). What counts:

- ``YYYYMMDD-NNNN``, ``YYYYMMDDNNNN``, ``YYMMDD-NNNN``, ``YYMMDDNNNN``, and ``+`` instead
  of ``-`` (used for people aged 100 or more);
- a real calendar date, where the day may be raised by 60 (samordningsnummer, the
  coordination number given to people not registered in Sweden: also personal data);
- a valid Luhn check digit over the 10-digit form ``YYMMDDNNNN``.

Speed: the stream scans every message, so the first step is one regular expression over
the raw bytes; the date and Luhn checks run only on its candidates, and the context
checks below only on candidates that pass them (about one digit run in 10,000).

Two digit runs in well-formed JSON look like a personnummer often enough to matter at
100,000 events/s and are *not* personal data: the first two groups (8-4) or the last
group (12) of a UUID, and the fraction of a timestamp's seconds (``10:00:00.250115+0100``).
A candidate inside a UUID-shaped token or right after ``<digit>.`` is ignored.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterator
from functools import lru_cache

# Digits not glued to other digits: a longer digit run (an account number, a count
# of 11 digits) is not a personnummer. Separator: '-' or '+' (aged 100+), or none.
_PATTERN = r"(?<![0-9])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9])"
_CANDIDATE_BYTES = re.compile(_PATTERN.encode("ascii"))
_CANDIDATE_STR = re.compile(_PATTERN, re.ASCII)

# For the fast path: digits -> "0", separators -> "-", anything else -> " ".
_SHAPE = bytes(48 if 48 <= byte <= 57 else 45 if byte in (43, 45) else 32 for byte in range(256))
_TEN_DIGITS = b"0000000000"
_SIX_FOUR = b"000000-0000"
_DIGIT = 48
_ONE = 49

_UUID_BYTES = re.compile(
    rb"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_UUID_STR = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", re.ASCII
)
_UUID_LEN = 36
_SAMORDNING_DAY_OFFSET = 60
_CENTURIES = (1800, 1900, 2000)


def luhn_valid(ten_digits: str) -> bool:
    """Luhn check over the 10-digit form ``YYMMDDNNNN`` (weights 2,1,2,1,... from the left)."""
    if len(ten_digits) != 10 or not ten_digits.isascii() or not ten_digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(ten_digits[:9]):
        value = (ord(char) - 48) * (2 - i % 2)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10 == ord(ten_digits[9]) - 48


def luhn_check_digit(nine_digits: str) -> str:
    """The check digit that makes ``nine_digits`` + it a valid 10-digit form (for tests/data)."""
    for digit in "0123456789":
        if luhn_valid(nine_digits + digit):
            return digit
    raise ValueError(f"not nine digits: {nine_digits!r}")


def _valid_day(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12:
        return False
    if day > _SAMORDNING_DAY_OFFSET:
        day -= _SAMORDNING_DAY_OFFSET
    return 1 <= day <= monthrange(year, month)[1]


def is_personnummer(text: str) -> bool:
    """Whether ``text`` (exactly one candidate, e.g. ``"19850312-1234"``) is a valid
    personnummer or samordningsnummer: format, real date, Luhn check digit."""
    digits = text.replace("-", "").replace("+", "")
    if len(text) - len(digits) > 1 or not digits.isascii() or not digits.isdigit():
        return False
    if len(digits) == 12:
        year = int(digits[:4])
        if year < 1800 or year >= 2100:
            return False
        years: tuple[int, ...] = (year,)
        digits = digits[2:]
    elif len(digits) == 10:
        # The century is not written; a date valid in any century is enough (29 Feb).
        years = tuple(century + int(digits[:2]) for century in _CENTURIES)
    else:
        return False
    month, day = int(digits[2:4]), int(digits[4:6])
    if not any(_valid_day(year, month, day) for year in years):
        return False
    return luhn_valid(digits)


def _in_uuid(text: bytes | str, start: int, end: int) -> bool:
    window_start = max(0, start - _UUID_LEN)
    window = text[window_start : end + _UUID_LEN]
    pattern = _UUID_BYTES if isinstance(window, bytes) else _UUID_STR
    for match in pattern.finditer(window):  # type: ignore[arg-type]
        if match.start() + window_start <= start and end <= match.end() + window_start:
            return True
    return False


def _after_decimal_point(text: bytes | str, start: int) -> bool:
    if start < 2:
        return False
    before = text[start - 2 : start]
    if isinstance(before, bytes):
        return before[1:] == b"." and 48 <= before[0] <= 57
    return before[1] == "." and before[0].isdigit()


def _spans(text: bytes | str) -> Iterator[tuple[int, int]]:
    if isinstance(text, bytes):
        spans: Iterator[tuple[int, int]] = _candidate_spans_bytes(text)
        for span in spans:
            if _counts(text, span):
                yield span
    else:
        for match in _CANDIDATE_STR.finditer(text):
            if is_personnummer(match.group()) and _counts(text, match.span()):
                yield match.span()


def _candidate_spans_bytes(data: bytes) -> Iterator[tuple[int, int]]:
    """Spans of valid personnummer shapes in ``data`` (format, date, Luhn; no context).

    Same result as ``_CANDIDATE_BYTES`` + ``is_personnummer``, about 25 times faster:
    ``bytes.translate`` maps digits to ``0`` and ``-``/``+`` to ``-``, so every candidate
    contains ``0000000000`` or ``000000-0000``, found by ``bytes.find`` in C. Only the
    runs of digits and separators around those hits are looked at in Python.
    """
    shape = data.translate(_SHAPE)
    find, rfind, size = shape.find, shape.rfind, len(shape)
    runs: set[tuple[int, int]] = set()
    hit = find(_TEN_DIGITS)
    while hit != -1:
        # ``hit`` starts a group of digits (the search resumes after a non-digit). A group
        # of exactly 10 or 12 digits whose month cannot be a month is no candidate: this
        # drops the organisation number in every HSA id (month >= 20) at once.
        end = hit + 10
        if end < size and shape[end] == _DIGIT:
            end += 2 if end + 2 <= size and shape[end + 1] == _DIGIT else 0
        group_ends = end >= size or shape[end] != _DIGIT
        month_tens = data[hit + (4 if end - hit == 12 else 2)]
        if group_ends and month_tens > _ONE and (end - hit) in (10, 12):
            hit = find(_TEN_DIGITS, end)
            continue
        left = rfind(b" ", 0, hit) + 1
        right = find(b" ", hit)
        right = size if right == -1 else right
        runs.add((left, right))
        hit = find(_TEN_DIGITS, right)
    hit = find(_SIX_FOUR)
    while hit != -1:
        left = rfind(b" ", 0, hit) + 1
        right = find(b" ", hit)
        right = size if right == -1 else right
        runs.add((left, right))
        hit = find(_SIX_FOUR, right)
    for left, right in sorted(runs):
        yield from _run_candidates(data, left, right)


def _run_candidates(data: bytes, left: int, right: int) -> Iterator[tuple[int, int]]:
    """Candidates in one maximal run of digits and separators: a group of 10 or 12
    digits, or a group of 6 or 8 digits, one separator and a group of 4 digits."""
    groups = data[left:right].replace(b"+", b"-").split(b"-")
    offset = left
    for index, group in enumerate(groups):
        size = len(group)
        if size in (10, 12):
            if _plausible_month(group, size == 12) and is_personnummer(group.decode("ascii")):
                yield offset, offset + size
        elif size in (6, 8) and index + 1 < len(groups) and len(groups[index + 1]) == 4:
            joined = group + b"-" + groups[index + 1]
            if _plausible_month(joined, size == 8) and is_personnummer(joined.decode("ascii")):
                yield offset, offset + size + 5
        offset += size + 1


def _plausible_month(digits: bytes, with_century: bool) -> bool:
    # Organisation numbers (HSA-id prefixes: every ward id) have month >= 20: drop them
    # before the full check.
    tens = digits[4 if with_century else 2]
    return tens == 48 or (tens == 49 and digits[5 if with_century else 3] <= 50)


def _counts(text: bytes | str, span: tuple[int, int]) -> bool:
    start, end = span
    return not _after_decimal_point(text, start) and not _in_uuid(text, start, end)


def find_personnummer(text: bytes | str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of every personnummer in ``text`` (bytes: byte offsets)."""
    return list(_spans(text))


def contains_personnummer(text: bytes | str) -> bool:
    """Whether ``text`` holds a personnummer anywhere (fast path: one regex scan)."""
    return next(_spans(text), None) is not None


_HSA_PREFIX = re.compile(rb"SE[0-9]{10}-")


@lru_cache(maxsize=4096)
def hsa_prefix(hsa_id: str) -> bytes | None:
    """The organisation prefix ``SE<10 digits>-`` of an HSA id, when it holds no
    personnummer (an organisation number's month digits are >= 20: it never does, but a
    sole trader's organisation number is the owner's personnummer). Cached: the stream
    asks for every message's hospital."""
    prefix = hsa_id[:13].encode("ascii", errors="replace")
    if _HSA_PREFIX.fullmatch(prefix) is None or contains_personnummer(prefix):
        return None
    return prefix


def contains_personnummer_besides(data: bytes, prefix: bytes) -> bool:
    """``contains_personnummer(data)``, faster where ``prefix`` (from ``hsa_prefix``)
    occurs often: every ward id and most sources of a hospital's batch carry it, and each
    is a 10-digit run the scan would look at in Python (two per event, most of its cost).

    Same answer: the prefix is replaced by ``SE-``. Its digits are no personnummer, and
    what surrounds them stays: ``E`` before and ``-`` after keep every neighbouring digit
    run apart as before, and a candidate cannot end in those digits (a 6- or 8-digit group
    before a separator must not be glued to more digits; these are 10).
    """
    return contains_personnummer(data.replace(prefix, b"SE-"))


def personal_data_paths(value: object, path: str = "") -> list[str]:
    """Field paths (``source``, ``events[2].encounter_ref``) of a parsed JSON value whose
    keys or scalar values hold a personnummer. Rare path: only after a raw scan hit."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            # A key holding the number must not leak into the path (paths go into details).
            name = "<key>" if contains_personnummer(str(key)) else str(key)
            child = f"{path}.{name}" if path else name
            if name == "<key>":
                found.append(child)
            found.extend(personal_data_paths(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(personal_data_paths(item, f"{path}[{index}]"))
    elif isinstance(value, str):
        if contains_personnummer(value):
            found.append(path)
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and contains_personnummer(str(value))
    ):
        found.append(path)
    return found
