"""Simulated time: epoch seconds inside the model, Swedish local time at the edges.

The model counts whole seconds since the epoch (UTC) because it compares and adds times
millions of times per simulated week; hospital behaviour (admissions in the morning,
fewer planned stays at weekends) follows Europe/Stockholm local time, and hospital
systems write local time with its offset, so ``LocalCalendar`` answers both cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = 3600
DAY = 24 * HOUR

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNIT_S = {"d": DAY, "h": HOUR, "m": 60, "s": 1}


@dataclass(frozen=True, slots=True)
class LocalHour:
    """What the model needs to know about one UTC hour in Swedish local time."""

    hour: int  # local hour of day, 0-23
    weekday: int  # Monday = 0
    month: int
    # "2025-01-15T10:" in local time, and "+01:00": an ISO timestamp is prefix + mm:ss + offset.
    # Sweden's offsets are whole hours and change on whole UTC hours, so minutes and seconds
    # of local time equal those of UTC within one UTC hour.
    prefix: str
    offset: str


class LocalCalendar:
    """Local-time facts per UTC hour, cached: the model asks for the same hours constantly."""

    def __init__(self) -> None:
        self._hours: dict[int, LocalHour] = {}

    def local_hour(self, ts: int) -> LocalHour:
        key = ts // HOUR
        info = self._hours.get(key)
        if info is None:
            local = datetime.fromtimestamp(key * HOUR, tz=STOCKHOLM)
            iso = local.isoformat()  # 2025-01-15T10:00:00+01:00
            info = LocalHour(
                hour=local.hour,
                weekday=local.weekday(),
                month=local.month,
                prefix=iso[:14],
                offset=iso[19:],
            )
            if len(self._hours) > 100_000:
                self._hours.clear()
            self._hours[key] = info
        return info

    def iso(self, ts: int) -> str:
        """RFC 3339 local time with offset, whole seconds (as an ADT feed writes it)."""
        info = self.local_hour(ts)
        rest = ts % HOUR
        return f"{info.prefix}{rest // 60:02d}:{rest % 60:02d}{info.offset}"

    @staticmethod
    def next_local_midnight(ts: int) -> int:
        """The first local midnight strictly after ``ts`` (days are 23 or 25 h around DST)."""
        local = datetime.fromtimestamp(ts, tz=STOCKHOLM)
        day = (local + timedelta(days=1)).date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM)
        return int(midnight.timestamp())

    @staticmethod
    def local_time(day_start: int, hour: float) -> int:
        """Epoch seconds of ``hour`` (fractional) local time on the day from ``day_start``."""
        local = datetime.fromtimestamp(day_start, tz=STOCKHOLM)
        wall = local.replace(hour=0, minute=0, second=0) + timedelta(seconds=round(hour * HOUR))
        # Re-attach the zone so a time after a DST change gets that day's later offset.
        return int(wall.replace(tzinfo=STOCKHOLM).timestamp())


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware time is required")
    return int(moment.timestamp())


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def parse_duration(text: str) -> int:
    """Seconds in ``"90s"``, ``"15m"``, ``"6h"``, ``"7d"`` or combinations like ``"1d12h"``."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    pos = 0
    total = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 6h, 7d, 1d12h)")
    return round(total)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with an offset (naive times are refused: whose local time?)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} needs an offset, e.g. 2025-01-15T06:00:00+01:00")
    return moment
