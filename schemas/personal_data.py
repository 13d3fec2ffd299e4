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

# Digits not glued to other digits: a longer digit run (an account number, a count
# of 11 digits) is not a personnummer. Separator: '-' or '+' (aged 100+), or none.
_PATTERN = r"(?<![0-9])(?:[0-9]{2})?[0-9]{6}[-+]?[0-9]{4}(?![0-9])"
_CANDIDATE_BYTES = re.compile(_PATTERN.encode("ascii"))
_CANDIDATE_STR = re.compile(_PATTERN, re.ASCII)

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
        for match in _CANDIDATE_BYTES.finditer(text):
            if is_personnummer(match.group().decode("ascii")) and _counts(text, match.span()):
                yield match.span()
    else:
        for match in _CANDIDATE_STR.finditer(text):
            if is_personnummer(match.group()) and _counts(text, match.span()):
                yield match.span()


def _counts(text: bytes | str, span: tuple[int, int]) -> bool:
    start, end = span
    return not _after_decimal_point(text, start) and not _in_uuid(text, start, end)


def find_personnummer(text: bytes | str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of every personnummer in ``text`` (bytes: byte offsets)."""
    return list(_spans(text))


def contains_personnummer(text: bytes | str) -> bool:
    """Whether ``text`` holds a personnummer anywhere (fast path: one regex scan)."""
    return next(_spans(text), None) is not None


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
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if contains_personnummer(str(value)):
            found.append(path)
    return found
