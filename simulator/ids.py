"""Deterministic identifiers: event ids, encounter pseudonyms, synthetic personnummer.

Event ids must be UUIDs (the contract) and unique per run, yet identical for the same
seed, scenario and start so that two runs can be compared byte for byte. A hash of the
run parameters gives the first 20 hex digits and a counter the last 12: as cheap as an
f-string, which matters at hundreds of thousands of events per second.
"""

from __future__ import annotations

import hashlib
import random

from schemas.personal_data import luhn_check_digit

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class EventIds:
    """UUID strings (version 4 layout) from a run key and a counter."""

    def __init__(self, run_key: str) -> None:
        digest = hashlib.sha256(run_key.encode()).hexdigest()
        variant = "89ab"[int(digest[16], 16) % 4]
        self._prefix = f"{digest[:8]}-{digest[8:12]}-4{digest[12:15]}-{variant}{digest[15:18]}-"
        self._next = 0

    def next(self) -> str:
        n = self._next
        self._next = n + 1
        return f"{self._prefix}{n:012x}"

    @property
    def issued(self) -> int:
        return self._next


def letters_tag(index: int) -> str:
    """A short all-letter tag ("a", "b", ... "ba") for a hospital index.

    Encounter pseudonyms join it to a counter: never ten digits in a row, so a pseudonym
    can never look like a personnummer to the personal-data scanner.
    """
    tag = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        tag = _LETTERS[rest] + tag
    return tag


def synthetic_personnummer(rng: random.Random, *, with_century: bool = True) -> str:
    """A made-up number in personnummer form with a valid date and Luhn digit.

    Made up, but indistinguishable from a real one for a validator: exactly what the
    bad-input scenario must check is rejected and never stored.
    """
    year = rng.randint(1930, 2005)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    serial = rng.randint(0, 999)
    nine = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    ten = nine + luhn_check_digit(nine)
    if with_century:
        return f"{year // 100}{ten[:6]}-{ten[6:]}"
    return f"{ten[:6]}-{ten[6:]}"
