"""The live state of one ward as a value, and the pure step ``apply(state, event)``.

The model (DOMAIN.md "Measures"; issue 4 point 2)
--------------------------------------------------
The state is a function of the *set* of accepted events, not of their arrival order: any
permutation of a ward's events within the lateness bound gives the same state (up to the
diagnostics ``version``, ``late_events`` and ``stale``, which count arrivals).

Times. Event times are truncated to whole epoch seconds. Everything below is integer
arithmetic, so sums are exact and independent of order.

Watermark and lateness. ``wm`` is the newest event time seen (any event type; it is
``last_reported_at``). An event whose *effect time* (a capacity change's effective time,
otherwise its occurred time) is older than ``max(wm, occurred) - lateness`` is rejected as
``too_late`` before it touches the state (``is_too_late``). ``fin`` = ``wm - lateness``
rounded down to a fine bucket is the *final point*: time before it is final.

The step function. Occupied, available and outlying beds are step functions of time,
defined by the kept records (events with effect time >= ``fin``) on top of ``base``, the
level at ``fin``. Walking the records in time order:

- a census at T sets the level absolutely: occupied, available, outlying hosted, and the
  census' overcrowding adjustment (below). It is authoritative for its time: a movement or
  capacity change in the same second counts as already included in it.
- an admit adds one patient, a discharge removes one; a transfer removes one from its
  ``from_ward_id`` side and adds one on its ``to_ward_id`` side (each side is its own
  event, routed to its ward). Outlying hosted moves with it when ``movement.is_outlying``.
- a capacity change adds ``change`` available beds from its effective time.
- a movement named by a cancel (``cancels_event_id``) has no effect, whether the cancel
  came before or after it. A cancel undoes movements only, and only while the movement
  is kept (within the lateness bound).
- before any census the level starts from 0 patients and the ward's configured
  ``typical_available_beds`` (reference data).

So "now" (the level at ``wm``) is: latest census + net movements after it that are not
cancelled + capacity changes effective after it (and by ``wm``). A movement older than
the latest census changes nothing now (it is counted in ``late_events``), but it still
shapes the step function before that census. A duplicate ``event_id`` of a census,
movement, cancel or capacity change is rejected as ``duplicate`` while kept; heartbeats
and preparedness declarations are idempotent anyway and are not kept. Counts read from
the step function are clamped at 0 (a discharge before any census cannot give -1).

Overcrowded (överbeläggningar). Let excess = max(0, occupied - available). A census that
reports ``overcrowded`` = R sets adj = R - excess(at census); one without it sets adj = 0.
Then overcrowded = max(0, excess + adj): exactly R at the census, derived as
max(0, occupied - available) when never reported, and moving one for one with the excess
in between. The patients the source counted beyond the arithmetic (e.g. in a bed of the
wrong kind) stay counted until the next census, even when a bed frees up: nothing says
one of them moved into it.

Placed elsewhere, pending admissions, expected discharges, physical and surge beds come
from the latest census (physical beds from reference data before one). They are not
derivable from this ward's movements.

Time-weighted occupancy. When ``fin`` advances, the step function over the newly final
time is integrated into fine buckets (5 min, kept for one coarse bucket's length before
``fin``) and coarse buckets (1 h, kept for 7 d), as patient-seconds and bed-seconds. A
window W at ``wm`` is integrated exactly over the open part ``[max(wm - W, fin), wm]``
from the kept records; the final part starts at the start of the bucket holding
``wm - W`` (fine buckets when that is within one coarse bucket of ``fin``, else coarse
ones). So a window is exact while it lies inside the lateness bound and at most one
bucket longer than nominal otherwise. Integration starts at the first census, movement or
capacity change: time before it is unknown and counts in neither integral, so the
time-weighted occupancy of a constant series is exactly that constant.

06:00 snapshots. When ``fin`` passes 06:00 Europe/Stockholm, the level that held then is
final and ``apply`` emits it as a ``DailySnapshot`` output (once).

Staleness is about the wall clock, not event time: ``is_stale(state, now)`` compares
``now`` with ``last_reported_at``. The flag carried in messages is set by
``refresh_stale(state, now)`` (the worker's timer), which bumps ``version`` when it flips
so that downstream replacements by version see the change.

Speed. ``apply_in_place`` mutates the state (a few µs per event; the hot path).
``apply`` is the pure wrapper (copies first). Derived arrays (levels and prefix integrals
per record) are recomputed lazily from the first changed record, so in-order arrival costs
O(1) per event and a late event O(records after it).

Serialised form (``to_dict``/``from_dict``): plain JSON types. About 2-2.5 KB of buckets
(a week of hourly patient-seconds and bed-seconds) plus ~50 bytes per event kept within
the lateness bound; event ids as 22-character base64 strings. ``to_json`` gives the same
bytes as ``orjson.dumps(to_dict())`` faster (records and buckets are serialised once).
``from_dict`` is for restoring (~1.5 µs per kept event): keep live states as objects.
"""

from __future__ import annotations

from binascii import a2b_base64, b2a_base64
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime
from typing import Any, Final, Protocol

import msgspec
import orjson
from pydantic_core import TzInfo

from schemas.events import MovementAction
from schemas.messages import InvalidReason, WardState
from streams.core import measures as m
from streams.core.buckets import Buckets, floor_to
from streams.core.config import (
    WINDOW_1H_S,
    WINDOW_7D_S,
    WINDOW_24H_S,
    CoreConfig,
    PressureThresholds,
)
from streams.core.daily_snapshot import DailySnapshot, first_snapshot_at_or_after
from streams.core.outputs import Output, PreparednessObserved, Rejected
from streams.core.pressure import pressure_level

__all__ = [
    "WardLike",
    "WardStateValue",
    "apply",
    "apply_in_place",
    "epoch_seconds",
    "is_stale",
    "is_too_late",
    "message_dict",
    "refresh_stale",
    "semantic_dict",
    "to_message",
]

STATE_FORMAT: Final = 1
_RANK_CHANGE: Final = 0  # movements and capacity changes sort before a census in the same second
_RANK_CENSUS: Final = 1
_ADMIT: Final = MovementAction.ADMIT
_DISCHARGE: Final = MovementAction.DISCHARGE
_CANCEL: Final = MovementAction.CANCEL

# (occupied, available, outlying hosted, overcrowding adjustment); raw, may be < 0
Level = tuple[int, int, int, int]


class WardLike(Protocol):
    """What the core reads of a ward's reference data (``schemas.reference.Ward`` fits)."""

    @property
    def ward_id(self) -> str: ...
    @property
    def hospital_id(self) -> str: ...
    @property
    def care_type(self) -> str: ...
    @property
    def specialty(self) -> str: ...
    @property
    def physical_beds(self) -> int: ...
    @property
    def typical_available_beds(self) -> int: ...
    @property
    def reporting_interval_s(self) -> int: ...


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_encode: Final = msgspec.json.encode


def epoch_seconds(dt: datetime) -> int:
    """``int(dt.timestamp())`` for an aware datetime after 1970, about 3x faster.

    Decoded events carry pydantic's ``TzInfo``, whose ``timestamp()`` costs ~3 µs here
    (most of a heartbeat's budget); its offset is fixed, so ask the tzinfo directly.
    """
    tz = dt.tzinfo
    if tz is UTC:
        off = 0
    elif type(tz) is TzInfo:
        delta = tz.utcoffset(None)
        if delta is None:
            return int(dt.timestamp())
        off = delta.days * 86400 + delta.seconds
    else:
        return int(dt.timestamp())
    return (
        (dt.toordinal() - _EPOCH_ORDINAL) * 86400
        + dt.hour * 3600
        + dt.minute * 60
        + dt.second
        - off
    )


def _dt(s: int) -> datetime:
    return datetime.fromtimestamp(s, UTC)


def _id_str(raw: bytes) -> str:
    return b2a_base64(raw, newline=False)[:22].decode("ascii")


def _id_int(s: str) -> int:
    return int.from_bytes(a2b_base64(s + "=="), "big")


def _overcrowded(occ: int, avail: int, adj: int) -> int:
    excess = occ - avail if occ > avail else 0
    v = excess + adj
    return v if v > 0 else 0


class WardStateValue:
    """One ward's state. Mutated only by ``apply_in_place``/``refresh_stale``; see module doc."""

    __slots__ = (
        "_base_b",
        "_base_p",
        "_bjson",
        "_cancels",
        "_census_key",
        "_cum_b",
        "_cum_p",
        "_dirty",
        "_fin_due",
        "_json",
        "_keys",
        "_levels",
        "_next_six",
        "_recs",
        "_times",
        "_ward",
        "_wcache",
        "_xrecs",
        "_xtargets",
        "as_of",
        "base",
        "census",
        "coarse",
        "fin",
        "fine",
        "interval_s",
        "late_events",
        "reference_physical_beds",
        "stale",
        "typical_available",
        "version",
        "ward_id",
        "wm",
    )

    def __init__(
        self,
        ward_id: str,
        *,
        typical_available: int,
        reference_physical_beds: int | None,
        interval_s: int,
        fine_bucket_s: int,
        coarse_bucket_s: int,
    ) -> None:
        self.ward_id = ward_id
        self.typical_available = typical_available
        self.reference_physical_beds = reference_physical_beds
        self.interval_s = interval_s
        self.version = 0
        self.late_events = 0
        self.stale = False
        self.wm: int | None = None  # newest event time of any kind (last_reported_at)
        self.as_of: int | None = None  # newest occurred time of a census/movement/capacity
        self.fin: int | None = None  # final point: time before it is in the buckets
        # A final point the watermark has reached but that is not applied yet (``settle``):
        # the worker applies many events to a ward per round and finalises once.
        self._fin_due: int | None = None
        self.base: Level | None = None  # level at fin; None while nothing is known yet
        # Latest census: [t, id, occupied, available, overcrowded|None, outlying_hosted,
        # placed_elsewhere, pending_admissions, expected_discharges_24h, physical_beds|None,
        # surge_beds_24h|None, surge_beds_72h|None]
        self.census: list[Any] | None = None
        self._census_key: tuple[int, int] | None = None
        # Kept records by event id (as int): the serialised lists, built once.
        #   census   ["c", id, t, occupied, available, outlying, adj]
        #   movement ["m", id, t, d_occupied, d_outlying]
        #   capacity ["k", id, effective_t, change, occurred_t]
        self._recs: dict[int, list[Any]] = {}
        # Cancels by their own id: ["x", id, t, target id]; and target -> a cancel's id.
        self._xrecs: dict[int, list[Any]] = {}
        self._cancels: dict[int, int] = {}
        self._xtargets: dict[int, int] = {}  # cancel id -> target id (derived)
        # The step function: records sorted by (time, rank, id) with derived arrays.
        self._keys: list[tuple[int, int, int]] = []
        self._times: list[int] = []
        self._levels: list[Level | None] = []
        # ∫occupied (∫available) up to the record's time, before it: from an arbitrary
        # origin, with _base_p (_base_b) the value at fin, so that finalising (moving
        # fin) leaves the kept values valid.
        self._cum_p: list[int] = []
        self._cum_b: list[int] = []
        self._base_p = 0
        self._base_b = 0
        self._dirty = 0  # derived arrays are valid below this index
        self._next_six: tuple[date, int] | None = None
        # window -> (fin, first bucket, patient-s, bed-s) of its final part: the buckets
        # only change when fin moves, so (fin, first bucket) identifies the sums.
        self._wcache: dict[int, tuple[int, int, int, int]] = {}
        self._ward: object = None  # the reference object last synced from (identity)
        self._json: dict[int, bytes] = {}  # serialised kept records (see to_json)
        self._bjson: tuple[int | None, bytes, bytes] | None = None  # buckets at a fin
        self.fine = Buckets(fine_bucket_s)
        self.coarse = Buckets(coarse_bucket_s)

    @classmethod
    def new(cls, ward: WardLike, config: CoreConfig) -> WardStateValue:
        return cls(
            ward.ward_id,
            typical_available=ward.typical_available_beds,
            reference_physical_beds=ward.physical_beds,
            interval_s=ward.reporting_interval_s,
            fine_bucket_s=config.fine_bucket_s,
            coarse_bucket_s=config.coarse_bucket_s,
        )

    # -- copying and serialisation -------------------------------------------------------

    def copy(self) -> WardStateValue:
        new = WardStateValue.__new__(WardStateValue)
        for name in WardStateValue.__slots__:
            setattr(new, name, getattr(self, name))
        # Records, levels and census lists are never mutated once built: shallow copies do.
        new._recs = self._recs.copy()
        new._xrecs = self._xrecs.copy()
        new._cancels = self._cancels.copy()
        new._xtargets = self._xtargets.copy()
        new._keys = self._keys.copy()
        new._times = self._times.copy()
        new._levels = self._levels.copy()
        new._cum_p = self._cum_p.copy()
        new._cum_b = self._cum_b.copy()
        new.fine = self.fine.copy()
        new.coarse = self.coarse.copy()
        new._wcache = self._wcache.copy()
        new._json = self._json.copy()
        return new

    def to_dict(self, *, records: bool = True) -> dict[str, Any]:
        """Plain JSON types for the changelog. Shares record lists: do not mutate it."""
        if self._fin_due is not None:
            self.settle()
        recs = self._recs
        return {
            "v": STATE_FORMAT,
            "ward": self.ward_id,
            "ta": self.typical_available,
            "pb": self.reference_physical_beds,
            "iv": self.interval_s,
            "ver": self.version,
            "late": self.late_events,
            "stale": self.stale,
            "wm": self.wm,
            "asof": self.as_of,
            "fin": self.fin,
            "base": list(self.base) if self.base is not None else None,
            "cen": self.census,
            "recs": [recs[k[2]] for k in self._keys] if records else None,
            "xs": sorted(self._xrecs.values(), key=lambda x: (x[2], x[1])) if self._xrecs else [],
            "fb": self.fine.size,
            "f": self.fine.to_list() if records else None,
            "cb": self.coarse.size,
            "c": self.coarse.to_list() if records else None,
        }

    def to_json(self) -> bytes:
        """``orjson.dumps(self.to_dict())``, byte for byte, but faster: each kept record and
        the buckets are serialised once and reused (orjson fragments)."""
        if self._fin_due is not None:
            self.settle()
        cache = self._json
        recs = self._recs
        parts = []
        # Pieces kept for later calls are encoded by msgspec (same bytes for these lists of
        # str/int/None): a bytes object from orjson.dumps keeps orjson's whole ~4 KB output
        # buffer, so caching one per record cost 4 KB of memory and ~4 µs of page faults.
        for key in self._keys:
            raw = cache.get(key[2])
            if raw is None:
                raw = cache[key[2]] = _encode(recs[key[2]])
            parts.append(raw)
        buckets = self._bjson
        if buckets is None or buckets[0] != self.fin:
            buckets = self._bjson = (
                self.fin,
                _encode(self.fine.to_list()),
                _encode(self.coarse.to_list()),
            )
        d = self.to_dict(records=False)
        d["recs"] = orjson.Fragment(b"[" + b",".join(parts) + b"]")
        d["f"] = orjson.Fragment(buckets[1])
        d["c"] = orjson.Fragment(buckets[2])
        return orjson.dumps(d)

    @classmethod
    def from_json(cls, raw: bytes) -> WardStateValue:
        return cls.from_dict(orjson.loads(raw))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> WardStateValue:
        if raw.get("v") != STATE_FORMAT:
            raise ValueError(f"unknown ward state format {raw.get('v')!r}")
        s = cls(
            raw["ward"],
            typical_available=raw["ta"],
            reference_physical_beds=raw["pb"],
            interval_s=raw["iv"],
            fine_bucket_s=raw["fb"],
            coarse_bucket_s=raw["cb"],
        )
        s.version = raw["ver"]
        s.late_events = raw["late"]
        s.stale = raw["stale"]
        s.wm = raw["wm"]
        s.as_of = raw["asof"]
        s.fin = raw["fin"]
        base = raw["base"]
        s.base = (base[0], base[1], base[2], base[3]) if base is not None else None
        cen = raw["cen"]
        if cen is not None:
            s.census = list(cen)
            s._census_key = (cen[0], _id_int(cen[1]))
        for rec in raw["recs"]:
            rec = list(rec)
            eid = _id_int(rec[1])
            s._recs[eid] = rec
            s._keys.append((rec[2], _RANK_CENSUS if rec[0] == "c" else _RANK_CHANGE, eid))
        s._keys.sort()
        n = len(s._keys)
        s._times = [k[0] for k in s._keys]
        s._levels = [None] * n
        s._cum_p = [0] * n
        s._cum_b = [0] * n
        for x in raw["xs"]:
            x = list(x)
            s._xrecs[_id_int(x[1])] = x
        s._rebuild_cancels()
        s.fine = Buckets.from_list(raw["fb"], raw["f"])
        s.coarse = Buckets.from_list(raw["cb"], raw["c"])
        return s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WardStateValue):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"WardStateValue({self.ward_id!r}, version={self.version}, wm={self.wm}, "
            f"records={len(self._recs)}, cancels={len(self._xrecs)})"
        )

    def _sync_reference(self, ward: WardLike) -> None:
        if ward.typical_available_beds != self.typical_available:
            self.typical_available = ward.typical_available_beds
            self._dirty = 0
        self.reference_physical_beds = ward.physical_beds
        self.interval_s = ward.reporting_interval_s
        self._ward = ward

    def _census(self, event: Any, eid: int, t: int) -> None:
        occ, avail, reported = event.occupied, event.available_beds, event.overcrowded
        adj = reported - (occ - avail if occ > avail else 0) if reported is not None else 0
        sid = _id_str(event.event_id.bytes)
        self._recs[eid] = ["c", sid, t, occ, avail, event.outlying_hosted, adj]
        self._insert((t, _RANK_CENSUS, eid))
        ckey = (t, eid)
        if self._census_key is None or ckey > self._census_key:
            self._census_key = ckey
            self.census = [
                t,
                sid,
                occ,
                avail,
                reported,
                event.outlying_hosted,
                event.placed_elsewhere,
                event.pending_admissions,
                event.expected_discharges_24h,
                event.physical_beds,
                event.surge_beds_24h,
                event.surge_beds_72h,
            ]

    # -- the step function -----------------------------------------------------------------

    def _rebuild_cancels(self) -> None:
        cancels: dict[int, int] = {}
        targets: dict[int, int] = {}
        for eid, x in sorted(self._xrecs.items(), key=lambda kv: (kv[1][2], kv[1][1])):
            target = self._xtargets.get(eid)
            if target is None:
                target = _id_int(x[3])
            targets[eid] = target
            cancels.setdefault(target, eid)
        self._cancels = cancels
        self._xtargets = targets

    def _insert(self, key: tuple[int, int, int]) -> None:
        keys = self._keys
        if not keys or key > keys[-1]:
            pos = len(keys)
            keys.append(key)
            self._times.append(key[0])
            self._levels.append(None)
            self._cum_p.append(0)
            self._cum_b.append(0)
        else:
            pos = bisect_left(keys, key)
            keys.insert(pos, key)
            self._times.insert(pos, key[0])
            self._levels.insert(pos, None)
            self._cum_p.insert(pos, 0)
            self._cum_b.insert(pos, 0)
        if pos < self._dirty:
            self._dirty = pos

    def _refresh(self) -> None:
        """Recompute levels and prefix integrals from the first changed record on."""
        keys = self._keys
        n = len(keys)
        i = self._dirty
        if i >= n:
            return
        times, levels, cum_p, cum_b = self._times, self._levels, self._cum_p, self._cum_b
        recs, cancels = self._recs, self._cancels
        lv: Level | None
        if i == 0:
            lv = self.base
            tp = self.fin if self.fin is not None else 0
            cp = self._base_p
            cb = self._base_b
        else:
            lv = levels[i - 1]
            tp = times[i - 1]
            cp = cum_p[i - 1]
            cb = cum_b[i - 1]
        default: Level = (0, self.typical_available, 0, 0)
        for j in range(i, n):
            t = times[j]
            if lv is None:
                prev = default
            else:
                prev = lv
                dt = t - tp
                if dt:
                    o, a = lv[0], lv[1]
                    cp += (o if o > 0 else 0) * dt
                    cb += (a if a > 0 else 0) * dt
            eid = keys[j][2]
            rec = recs[eid]
            kind = rec[0]
            if kind == "m":
                if eid in cancels:
                    lv = prev
                else:
                    lv = (prev[0] + rec[3], prev[1], prev[2] + rec[4], prev[3])
            elif kind == "k":
                lv = (prev[0], prev[1] + rec[3], prev[2], prev[3])
            else:
                lv = (rec[3], rec[4], rec[5], rec[6])
            levels[j] = lv
            cum_p[j] = cp
            cum_b[j] = cb
            tp = t
        self._dirty = n

    def _prefix(self, x: int) -> tuple[int, int]:
        """∫occupied and ∫available up to ``x >= fin`` (from the arbitrary origin)."""
        j = bisect_right(self._times, x) - 1
        if j < 0:
            lv = self.base
            tj = self.fin if self.fin is not None else x
            cp = self._base_p
            cb = self._base_b
        else:
            lv = self._levels[j]
            tj = self._times[j]
            cp = self._cum_p[j]
            cb = self._cum_b[j]
        if lv is None:
            return cp, cb
        dt = x - tj
        o, a = lv[0], lv[1]
        return cp + (o if o > 0 else 0) * dt, cb + (a if a > 0 else 0) * dt

    def level_now(self) -> Level:
        """The raw level at the watermark (call after ``_refresh``)."""
        if self.wm is None:
            return (0, self.typical_available, 0, 0)
        j = bisect_right(self._times, self.wm) - 1
        lv = self._levels[j] if j >= 0 else self.base
        return lv if lv is not None else (0, self.typical_available, 0, 0)

    def window(self, window_s: int) -> tuple[int, int]:
        """Patient-seconds and bed-seconds over the trailing window ending at ``wm``."""
        if self._fin_due is not None:
            self.settle()
        self._refresh()
        wm = self.wm
        if wm is None or self.fin is None:
            return 0, 0
        pw, bw = self._prefix(wm)
        return self._window(window_s, wm, pw, bw)

    def _window(self, window_s: int, wm: int, pw: int, bw: int) -> tuple[int, int]:
        """``window`` given the prefix integrals at ``wm`` (after ``_refresh``)."""
        fin = self.fin
        assert fin is not None
        start = wm - window_s
        if start >= fin:
            ps, bs = self._prefix(start)
            return pw - ps, bw - bs
        pw -= self._base_p
        bw -= self._base_b
        fine, coarse = self.fine, self.coarse
        near = start >= fin - coarse.size
        first = floor_to(start, fine.size if near else coarse.size)
        cached = self._wcache.get(window_s)
        if cached is not None and cached[0] == fin and cached[1] == first:
            return pw + cached[2], bw + cached[3]
        if near:
            pf, bf = fine.sum_range(first, fin)
        else:
            hour = floor_to(fin, coarse.size)
            pc, bc = coarse.sum_range(first, hour)
            pf, bf = fine.sum_range(hour, fin)
            pf += pc
            bf += bc
        self._wcache[window_s] = (fin, first, pf, bf)
        return pw + pf, bw + bf

    # -- finalisation ----------------------------------------------------------------------

    def settle(self) -> list[Output]:
        """Apply a final point deferred by ``apply_in_place(..., settle=False)``; return the
        06:00 snapshots that became final. Every reader (``vector``, ``window``,
        ``to_dict``, ``to_json``) settles first, so a deferred state reads exactly like one
        finalised event by event: folding is by prefix-integral differences, so folding
        ``[fin, due)`` at once gives the buckets of folding it step by step.
        """
        due = self._fin_due
        out: list[Output] = []
        if due is not None:
            self._fin_due = None
            if self.fin is not None and due > self.fin:
                self._advance(due, out)
        return out

    def _advance(self, new_fin: int, out: list[Output]) -> None:
        """Move the final point forward (the watermark has moved): fold newly final time
        into the buckets, append 06:00 snapshots that became final to ``out``, forget old
        records. Bucket sums come from differences of the prefix integrals, so the cost is
        per bucket crossed, not per record. (Runs about every 5 min of a ward's event time:
        kept lean.)
        """
        fin = self.fin
        wm = self.wm
        assert fin is not None
        assert wm is not None
        if self._dirty < len(self._keys):
            self._refresh()
        fine, coarse = self.fine, self.coarse
        fine_from = new_fin - coarse.size
        coarse_from = wm - WINDOW_7D_S
        coarse_from -= coarse_from % coarse.size
        pn, bn = self._prefix(new_fin)
        if new_fin - fin == fine.size and fin >= fine_from and fin >= coarse_from:
            # the common step: one fine bucket (inside one coarse bucket) became final
            dp = pn - self._base_p
            db = bn - self._base_b
            for buckets in (fine, coarse):
                start = buckets.start
                if start is None:
                    if not dp and not db:
                        continue
                    buckets.start = start = fin - fin % buckets.size
                i = 2 * ((fin - start) // buckets.size)
                data = buckets.data
                if i >= len(data):
                    data.extend([0] * (i + 2 - len(data)))
                data[i] += dp
                data[i + 1] += db
        else:
            self._fold(coarse, fin if fin > coarse_from else coarse_from, new_fin)
            self._fold(fine, fin if fin > fine_from else fine_from, new_fin)
        six = self._next_six
        if six is None or six[1] < fin:
            six = first_snapshot_at_or_after(fin)
        while six[1] < new_fin:
            lv = self._level_at(six[1])
            if lv is not None:
                out.append(self._snapshot(lv, six[0], six[1]))
            six = first_snapshot_at_or_after(six[1] + 1)
        self._next_six = six
        n = bisect_left(self._times, new_fin)  # records before new_fin become final
        self._base_p = pn
        self._base_b = bn
        if n:
            self.base = self._levels[n - 1]
            recs = self._recs
            cache = self._json
            for key in self._keys[:n]:
                del recs[key[2]]
                cache.pop(key[2], None)
            del self._keys[:n], self._times[:n], self._levels[:n]
            del self._cum_p[:n], self._cum_b[:n]
        self.fin = new_fin
        self._dirty = len(self._keys)  # the kept records' levels and integrals still hold
        if self._xrecs:
            recs = self._recs
            targets = self._xtargets
            gone = [
                eid for eid, x in self._xrecs.items() if x[2] < new_fin and targets[eid] not in recs
            ]
            if gone:
                for eid in gone:
                    del self._xrecs[eid]
                self._rebuild_cancels()
        if fine.start is not None and fine.start < fine_from:
            fine.trim_before(fine_from)
        if coarse.start is not None and coarse.start < coarse_from:
            coarse.trim_before(coarse_from)

    def _fold(self, buckets: Buckets, a: int, b: int) -> None:
        """Add the step function's integrals over ``[a, b)`` (``a >= fin``) to ``buckets``.

        Buckets start at the first one with a non-zero amount (a function of the events,
        whatever the order they came in)."""
        if b <= a:
            return
        size = buckets.size
        data = buckets.data
        pa, ba = self._prefix(a)
        x = a
        while x < b:
            first = x - x % size
            y = first + size
            if y > b:
                y = b
            py, by = self._prefix(y)
            start = buckets.start
            if start is None and (py != pa or by != ba):
                start = buckets.start = first
            if start is not None:
                if first < start:  # not reached by forward folding; kept general
                    buckets.add_amount(first, py - pa, by - ba)
                    data = buckets.data
                else:
                    i = 2 * ((first - start) // size)
                    if i >= len(data):
                        data.extend([0] * (i + 2 - len(data)))
                    data[i] += py - pa
                    data[i + 1] += by - ba
            x, pa, ba = y, py, by

    def _level_at(self, x: int) -> Level | None:
        """The level in force at ``x >= fin`` (after every record at or before it)."""
        j = bisect_right(self._times, x) - 1
        return self._levels[j] if j >= 0 else self.base

    def _snapshot(self, lv: Level, day: date, at_s: int) -> DailySnapshot:
        o = lv[0] if lv[0] > 0 else 0
        a = lv[1] if lv[1] > 0 else 0
        out = lv[2] if lv[2] > 0 else 0
        return DailySnapshot(
            ward_id=self.ward_id,
            day=day,
            at_s=at_s,
            available_beds=a,
            occupied=o,
            overcrowded=_overcrowded(o, a, lv[3]),
            outlying_hosted=out,
        )

    # -- what the messages and rollups read -----------------------------------------------

    def vector(self, target: float) -> tuple[int, ...]:
        """This ward's additive vector (``streams.core.measures.VECTOR_FIELDS``)."""
        if self._fin_due is not None:
            self.settle()
        self._refresh()
        wm = self.wm
        if wm is None or self.fin is None:  # nothing known yet: the reference values, no time
            wm = 0
            j = -1
        else:
            j = bisect_right(self._times, wm) - 1
        if j >= 0:
            lv = self._levels[j]
            tj = self._times[j]
            cp = self._cum_p[j]
            cb = self._cum_b[j]
        else:
            lv = self.base
            tj = self.fin if self.fin is not None else 0
            cp = self._base_p
            cb = self._base_b
        if lv is None:
            lv = (0, self.typical_available, 0, 0)
            pw, bw = cp, cb
        else:
            dt = wm - tj
            pw = cp + (lv[0] if lv[0] > 0 else 0) * dt
            bw = cb + (lv[1] if lv[1] > 0 else 0) * dt
        occ, avail, outl, adj = lv
        o = occ if occ > 0 else 0
        a = avail if avail > 0 else 0
        cen = self.census
        if cen is not None:
            placed, pending, expected = cen[6], cen[7], cen[8]
            physical = cen[9] if cen[9] is not None else self.reference_physical_beds
            s24, s72 = cen[10], cen[11]
        else:
            placed = pending = expected = 0
            physical = self.reference_physical_beds
            s24 = s72 = None
        if self.fin is None:
            p1 = b1 = p24 = b24 = p7 = b7 = 0
        else:
            p1, b1 = self._window(WINDOW_1H_S, wm, pw, bw)
            p24, b24 = self._window(WINDOW_24H_S, wm, pw, bw)
            p7, b7 = self._window(WINDOW_7D_S, wm, pw, bw)
        return (
            1,
            0 if self.stale else 1,
            a,
            o,
            a - o if a > o else 0,
            _overcrowded(o, a, adj),
            outl if outl > 0 else 0,
            placed,
            pending,
            expected,
            physical or 0,
            0 if physical is None else 1,
            s24 or 0,
            0 if s24 is None else 1,
            s72 or 0,
            0 if s72 is None else 1,
            p1,
            b1,
            p24,
            b24,
            p7,
            b7,
            round(target * m.TARGET_SCALE) * a,
        )


# -- the step --------------------------------------------------------------------------------


def is_too_late(state: WardStateValue | None, event: Any, lateness_s: int) -> bool:
    """The event's effect lies before the final point of ``state`` (reason ``too_late``)."""
    t = epoch_seconds(event.occurred_at)
    eff = epoch_seconds(event.effective_time) if event.type == "capacity" else t
    wm = state.wm if state is not None else None
    return eff < (t if wm is None or t > wm else wm) - lateness_s


def apply_in_place(
    state: WardStateValue,
    event: Any,
    *,
    ward: WardLike,
    config: CoreConfig,
    settle: bool = True,
) -> list[Output]:
    """Apply one accepted (validated) event to ``state``, mutating it; return the outputs.

    ``version`` increases when the state changed. A rejected event (``Rejected`` output)
    leaves the state untouched. The hot path: dispatch on ``event.type`` (pydantic's
    ``isinstance`` is slow) and no calls for the common in-order movement.

    ``settle=False`` defers finalisation (moving ``fin``, folding buckets) to
    ``state.settle()`` or the next read: a worker applying many events to one ward per
    round then folds once instead of every five minutes of event time. The state reads the
    same either way; only the 06:00 ``DailySnapshot`` outputs come from ``settle()``.
    Cancels, and movements a kept cancel names, settle first: whether a cancel still
    reaches its target depends on the final point at the time it is applied.
    """
    if ward is not state._ward:
        state._sync_reference(ward)
    typ = event.type
    occurred = event.occurred_at
    # timestamp() is C for datetime's own UTC (what msgspec decodes "Z" to; pydantic's
    # TzInfo makes it slow, which epoch_seconds avoids); int() floors it after 1970.
    if occurred.tzinfo is UTC and (stamp := occurred.timestamp()) >= 0:
        t = int(stamp)
    else:
        t = epoch_seconds(occurred)
    if typ == "capacity":
        eff = epoch_seconds(event.effective_time)
    elif typ == "ward_registered":  # reference data, handled by the wiring
        return []
    else:
        eff = t
    wm = state.wm
    if eff < (t if wm is None or t > wm else wm) - config.lateness_s:
        return [
            Rejected(
                InvalidReason.TOO_LATE,
                event.event_id,
                state.ward_id,
                f"effect time {_dt(eff).isoformat()} is more than {config.lateness_s} s "
                f"older than the ward's newest event time",
            )
        ]
    out: list[Output] = []
    if typ == "movement":
        event_id = event.event_id
        eid: int = event_id.int
        recs = state._recs
        if eid in recs or eid in state._xrecs:
            return [_duplicate(state, event)]
        action = event.action
        if state._fin_due is not None and (action is _CANCEL or eid in state._cancels):
            out.extend(state.settle())
        if action is _CANCEL:
            target_id = event.cancels_event_id
            target = target_id.int
            state._xrecs[eid] = ["x", _id_str(event_id.bytes), t, _id_str(target_id.bytes)]
            state._xtargets[eid] = target
            if target not in state._cancels:
                state._cancels[target] = eid
                rec = recs.get(target)
                if rec is not None and rec[0] == "m":
                    pos = bisect_left(state._keys, (rec[2], _RANK_CHANGE, target))
                    if pos < state._dirty:
                        state._dirty = pos
        else:
            if action is _ADMIT:
                d = 1
            elif action is _DISCHARGE:
                d = -1
            else:  # transfer: this event is the side of the ward it is routed to
                d = 1 if event.ward_id == event.to_ward_id else -1
            responsible = event.responsible_ward_id
            # PatientMovement.is_outlying, inlined
            outlying = (
                responsible is not None
                and responsible != event.ward_id
                and not event.medically_motivated
            )
            recs[eid] = ["m", _id_str(event_id.bytes), t, d, d if outlying else 0]
            key = (t, _RANK_CHANGE, eid)
            keys = state._keys
            if keys and key < keys[-1]:
                state._insert(key)
            else:
                keys.append(key)
                state._times.append(t)
                state._levels.append(None)
                state._cum_p.append(0)
                state._cum_b.append(0)
            cen = state.census
            if cen is not None and t <= cen[0]:
                state.late_events += 1
        changed = True
    elif typ == "census":
        eid = event.event_id.int
        if eid in state._recs:
            return [_duplicate(state, event)]
        state._census(event, eid, t)
        changed = True
    elif typ == "capacity":
        eid = event.event_id.int
        if eid in state._recs:
            return [_duplicate(state, event)]
        state._recs[eid] = ["k", _id_str(event.event_id.bytes), eff, event.change, t]
        state._insert((eff, _RANK_CHANGE, eid))
        changed = True
    else:  # heartbeat, preparedness: only time moves
        changed = False
        if typ == "preparedness":
            out.append(
                PreparednessObserved(
                    event.event_id, state.ward_id, event.region_code, event.level, event.occurred_at
                )
            )
    if changed and (state.as_of is None or t > state.as_of):
        state.as_of = t
    if wm is None or t > wm:
        state.wm = t
        fin = state.fin
        new_fin = t - config.lateness_s
        new_fin -= new_fin % state.fine.size
        if fin is None:
            state.fin = new_fin
        elif not settle:
            if new_fin > fin:
                state._fin_due = new_fin
        elif new_fin > fin:
            state._fin_due = None
            state._advance(new_fin, out)
        changed = True
    if changed:
        state.version += 1
    return out


def _duplicate(state: WardStateValue, event: Any) -> Rejected:
    return Rejected(
        InvalidReason.DUPLICATE,
        event.event_id,
        state.ward_id,
        f"event {event.event_id} was already applied to ward {state.ward_id}",
    )


def apply(
    state: WardStateValue | None, event: Any, *, ward: WardLike, config: CoreConfig
) -> tuple[WardStateValue, list[Output]]:
    """The pure step: a new state and the outputs; ``state`` is not modified."""
    new = state.copy() if state is not None else WardStateValue.new(ward, config)
    out = apply_in_place(new, event, ward=ward, config=config)
    if state is not None and new.version == state.version and not _changed_reference(state, ward):
        return state, out
    return new, out


def _changed_reference(state: WardStateValue, ward: WardLike) -> bool:
    return (
        state.typical_available != ward.typical_available_beds
        or state.reference_physical_beds != ward.physical_beds
        or state.interval_s != ward.reporting_interval_s
    )


def semantic_dict(state: WardStateValue) -> dict[str, Any]:
    """``to_dict`` without the arrival-order diagnostics: what permutations must agree on."""
    d = state.to_dict()
    for key in ("ver", "late", "stale"):
        del d[key]
    return d


# -- freshness -----------------------------------------------------------------------------


def is_stale(state: WardStateValue, now: datetime, *, factor: float = 1.0) -> bool:
    """Silent past its expected reporting interval at wall-clock ``now`` (never reported: stale)."""
    if state.wm is None:
        return True
    return now.timestamp() - state.wm > state.interval_s * factor


def refresh_stale(state: WardStateValue, now: datetime, *, factor: float = 1.0) -> bool:
    """Set the carried ``stale`` flag from the clock; bump ``version`` when it flips."""
    stale = is_stale(state, now, factor=factor)
    if stale == state.stale:
        return False
    state.stale = stale
    state.version += 1
    return True


# -- the outbound message ------------------------------------------------------------------

_DEFAULT_THRESHOLDS = PressureThresholds()


def message_dict(
    state: WardStateValue,
    ward: WardLike,
    *,
    region_code: str,
    target: float,
    thresholds: PressureThresholds = _DEFAULT_THRESHOLDS,
    vector: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """``schemas.messages.WardState`` as a plain dict (orjson-ready; the fast path).

    Pass ``vector`` when already computed (``state.vector(target)``) for the rollup.
    """
    if state.wm is None:
        raise ValueError(f"ward {state.ward_id} has no events yet")
    vec = vector if vector is not None else state.vector(target)
    level = pressure_level(
        occupied=vec[m.OCCUPIED],
        available=vec[m.AVAILABLE],
        overcrowded=vec[m.OVERCROWDED],
        free_beds=vec[m.FREE],
        target=target,
        thresholds=thresholds,
    )
    as_of = state.as_of if state.as_of is not None else state.wm
    return {
        "message_version": 1,
        "kind": "ward_state",
        "ward_id": state.ward_id,
        "hospital_id": ward.hospital_id,
        "region_code": region_code,
        "care_type": str(ward.care_type),
        "specialty": ward.specialty,
        "version": state.version,
        "as_of": _dt(as_of),
        "last_reported_at": _dt(state.wm),
        "expected_interval_s": state.interval_s,
        "stale": state.stale,
        "counts": m.counts_dict(vec),
        "measures": m.measures_dict(vec),
        "target": target,
        "pressure_level": level,
        "late_events": state.late_events,
    }


def to_message(
    state: WardStateValue,
    ward: WardLike,
    *,
    region_code: str,
    target: float,
    thresholds: PressureThresholds = _DEFAULT_THRESHOLDS,
) -> WardState:
    """The validated ``WardState`` message (slower than ``message_dict``; off the hot path)."""
    return WardState.model_validate(
        message_dict(state, ward, region_code=region_code, target=target, thresholds=thresholds)
    )
