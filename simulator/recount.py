"""An independent recount of ward states from the simulator's own events.

Written apart from ``streams.core.ward_state`` (and much simpler: it only needs to be
right for events in time order, which is what the simulator publishes) so that the two
can check each other: the ground truth runs both and a test asserts they agree.

Semantics (DESIGN.md, "Stream processing"; the contract in ``schemas.events``):

- an event whose time is more than ``lateness_s`` behind the ward's newest event time is
  rejected as too late; a census, movement or capacity change whose ``event_id`` the ward
  has seen is rejected as a duplicate (heartbeats and declarations are idempotent);
- a census sets the counts; admit +1, discharge -1, a transfer -1 on its ``from`` side and
  +1 on its ``to`` side; the outlying count moves with a movement when its responsible
  ward is another ward and the placement is not medically motivated;
- a cancel removes the movement it names, from the movement's own time on (it never
  happened); a capacity change adds its beds;
- overcrowded = max(0, occupied - available); placed elsewhere, pending admissions and
  expected discharges come from the latest census;
- time-weighted occupancy integrates the occupied and available step functions exactly
  over the trailing window ending at the ward's newest event time, from its first census,
  movement or capacity change on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.messages import InvalidReason
from simulator.clock import DAY, HOUR

WINDOWS_S = (HOUR, DAY, 7 * DAY)
_KEEP_S = 7 * DAY + 2 * HOUR
_DEDUPLICATED = frozenset({"census", "movement", "capacity"})


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@dataclass(slots=True)
class RecountWard:
    ward_id: str
    available: int
    occupied: int = 0
    outlying: int = 0
    placed_elsewhere: int = 0
    pending: int = 0
    expected_discharges: int = 0
    physical: int | None = None
    surge_24h: int | None = None
    surge_72h: int | None = None
    wm: int | None = None  # newest event time of any kind
    as_of: int | None = None  # newest census, movement or capacity change
    first: int | None = None  # integration starts here
    last_census: int | None = None
    seen: dict[str, int] = field(default_factory=dict)  # event id -> time, for duplicates
    moves: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # id -> (t, d, d_out)
    cancelled: set[str] = field(default_factory=set)
    # The step functions: (t, occupied, available) holding from t until the next point.
    points: list[list[int]] = field(default_factory=list)

    def _point(self, t: int) -> None:
        if self.first is None:
            self.first = t
        points = self.points
        if points and points[-1][0] == t:
            points[-1][1] = self.occupied
            points[-1][2] = self.available
        else:
            points.append([t, self.occupied, self.available])

    def window(self, window_s: int, *, start: int | None = None) -> tuple[int, int]:
        """Patient-seconds and bed-seconds over ``[wm - window_s, wm]`` (from ``first``),
        or from ``start`` when given."""
        if self.wm is None or self.first is None:
            return 0, 0
        end = self.wm
        start = max(end - window_s if start is None else start, self.first)
        patient = bed = 0
        for t, occupied, available in reversed(self.points):
            lo = t if t > start else start
            if end > lo:
                patient += occupied * (end - lo)
                bed += available * (end - lo)
            if t <= start:
                break
            end = t
        return patient, bed

    def prune(self) -> None:
        if self.wm is None:
            return
        cutoff = self.wm - _KEEP_S
        points = self.points
        keep_from = 0
        for i, point in enumerate(points):
            if point[0] <= cutoff:
                keep_from = i
            else:
                break
        if keep_from:
            del points[:keep_from]
        old = [eid for eid, t in self.seen.items() if t < cutoff]
        for eid in old:
            del self.seen[eid]
            self.moves.pop(eid, None)
            self.cancelled.discard(eid)


class Recount:
    """Ward states from event payloads, applied in publish order."""

    def __init__(self, typical_available: dict[str, int], *, lateness_s: int) -> None:
        self.typical_available = typical_available
        self.lateness_s = lateness_s
        self.wards: dict[str, RecountWard] = {}
        self._applied = 0

    def apply(self, payload: dict[str, Any]) -> InvalidReason | None:
        """Apply one schema-valid event of a known ward; return why it was refused, if so."""
        ward_id = payload["ward_id"]
        ward = self.wards.get(ward_id)
        if ward is None:
            ward = self.wards[ward_id] = RecountWard(ward_id, self.typical_available[ward_id])
        kind = payload["type"]
        t = _epoch(payload["occurred_at"])
        if kind == "capacity" and payload.get("effective_at"):
            effect = _epoch(payload["effective_at"])
        else:
            effect = t
        newest = t if ward.wm is None or t > ward.wm else ward.wm
        if effect < newest - self.lateness_s:
            return InvalidReason.TOO_LATE
        event_id = payload["event_id"]
        if kind in _DEDUPLICATED:
            if event_id in ward.seen:
                return InvalidReason.DUPLICATE
            ward.seen[event_id] = t
        if kind == "census":
            self._census(ward, payload, t)
        elif kind == "movement":
            self._movement(ward, payload, t, event_id)
        elif kind == "capacity":
            ward.available += payload["change"]
            ward._point(effect)
        if kind in _DEDUPLICATED and (ward.as_of is None or t > ward.as_of):
            ward.as_of = t
        ward.wm = newest
        self._applied += 1
        if self._applied % 100_000 == 0:
            for w in self.wards.values():
                w.prune()
        return None

    @staticmethod
    def _census(ward: RecountWard, p: dict[str, Any], t: int) -> None:
        ward.occupied = p["occupied"]
        ward.available = p["available_beds"]
        ward.outlying = p.get("outlying_hosted", 0)
        ward.placed_elsewhere = p.get("placed_elsewhere", 0)
        ward.pending = p.get("pending_admissions", 0)
        ward.expected_discharges = p.get("expected_discharges_24h", 0)
        ward.physical = p.get("physical_beds")
        ward.surge_24h = p.get("surge_beds_24h")
        ward.surge_72h = p.get("surge_beds_72h")
        ward.last_census = t
        ward._point(t)

    @staticmethod
    def _movement(ward: RecountWard, p: dict[str, Any], t: int, event_id: str) -> None:
        action = p["action"]
        if action == "cancel":
            target = p["cancels_event_id"]
            move = ward.moves.get(target)
            if move is None or target in ward.cancelled:
                return
            ward.cancelled.add(target)
            moved_at, d, d_out = move
            if ward.last_census is not None and ward.last_census >= moved_at:
                raise ValueError(
                    f"ward {ward.ward_id}: cancel of {target} after a census that counted it "
                    "(the simulator never publishes that)"
                )
            ward.occupied -= d
            ward.outlying -= d_out
            for point in ward.points:  # it never happened: from its own time on
                if point[0] >= moved_at:
                    point[1] -= d
            return
        if action == "admit":
            d = 1
        elif action == "discharge":
            d = -1
        else:
            d = 1 if p["ward_id"] == p["to_ward_id"] else -1
        responsible = p.get("responsible_ward_id")
        outlying = (
            responsible is not None
            and responsible != p["ward_id"]
            and not p.get("medically_motivated", False)
        )
        d_out = d if outlying else 0
        ward.moves[event_id] = (t, d, d_out)
        ward.occupied += d
        ward.outlying += d_out
        ward._point(t)

    def vector(
        self, ward: RecountWard, *, window_start: Callable[[int, int], int] | None = None
    ) -> tuple[int, ...]:
        """The ward as the core's additive vector (``streams.core.measures.VECTOR_FIELDS``).

        ``window_start(wm, window_s)`` moves where a window starts (to compare with an
        implementation that rounds old time to buckets); exact by default.
        """
        occupied = max(0, ward.occupied)
        available = max(0, ward.available)
        windows: list[int] = []
        for window_s in WINDOWS_S:
            start = None
            if window_start is not None and ward.wm is not None:
                start = window_start(ward.wm, window_s)
            windows.extend(ward.window(window_s, start=start))
        p1, b1, p24, b24, p7, b7 = windows
        return (
            1,
            1,
            available,
            occupied,
            max(0, available - occupied),
            max(0, occupied - available),
            max(0, ward.outlying),
            ward.placed_elsewhere,
            ward.pending,
            ward.expected_discharges,
            ward.physical or 0,
            0 if ward.physical is None else 1,
            ward.surge_24h or 0,
            0 if ward.surge_24h is None else 1,
            ward.surge_72h or 0,
            0 if ward.surge_72h is None else 1,
            p1,
            b1,
            p24,
            b24,
            p7,
            b7,
            0,
        )
