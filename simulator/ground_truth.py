"""Ground truth: the exact ward states and rollups the pipeline must show for what was published.

``GroundTruth.observe`` takes the simulator's emissions in publish order and runs them
through the pipeline's own pure core (``streams.core.ward_state.apply_in_place``), so the
expected values follow the one definition of every measure. Which events reach the core
follows the labels the simulator put on its bad input: events labelled ``duplicate`` or
``too_late`` go in (the core must refuse them, and the truth checks that it does); the
rest of the bad input (malformed, schema violations, personal data, unknown wards, future
dates) is refused by ``schemas.validation`` before the core and is only counted here.

Beside the core runs ``simulator.recount``, an independent recount written without it.
``disagreements()`` lists every ward where the two differ, and every event whose fate
differs from its label: both empty is the evidence that the truth is true.

A snapshot at time T is the state after every event with an event time up to T; each
ward's time-weighted windows end at its own newest event time, exactly as the pipeline's
ward state does. Rollups are sums over wards (``region:01:all``, ``hospital:<id>:psychiatry``,
``nation:somatic_acute``): counts and integrals add, ratios are computed from the sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from schemas.events import Event
from schemas.messages import InvalidReason
from schemas.reference import ReferenceData
from schemas.types import ALL_CARE_TYPES
from simulator.emission import Emission
from simulator.recount import Recount
from streams.core import measures as m
from streams.core.config import CoreConfig
from streams.core.outputs import Rejected
from streams.core.ward_state import WardStateValue, apply_in_place

_CORE_DECIDES = frozenset({None, InvalidReason.DUPLICATE, InvalidReason.TOO_LATE})
_events_adapter: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()


@dataclass(frozen=True, slots=True)
class WardTruth:
    vector: tuple[int, ...]
    as_of: int | None
    last_reported_at: int | None


@dataclass(frozen=True, slots=True)
class TruthSnapshot:
    at: int
    wards: dict[str, WardTruth]
    rollups: dict[str, tuple[int, ...]]  # "<scope_id>:<care_type>" -> summed vector

    def ward_json(self, ward_id: str) -> dict[str, Any]:
        truth = self.wards[ward_id]
        return {
            "as_of": _iso(truth.as_of),
            "last_reported_at": _iso(truth.last_reported_at),
            "counts": m.counts_dict(truth.vector),
            "measures": m.measures_dict(truth.vector),
        }

    def rollup_json(self, key: str) -> dict[str, Any]:
        vector = self.rollups[key]
        scope_id, _, care_type = key.rpartition(":")
        return {
            "scope_id": scope_id,
            "care_type": care_type,
            "ward_count": vector[m.WARD_COUNT],
            "counts": m.counts_dict(vector),
            "measures": m.measures_dict(vector),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "wards": {ward_id: self.ward_json(ward_id) for ward_id in sorted(self.wards)},
            "rollups": {key: self.rollup_json(key) for key in sorted(self.rollups)},
        }


class GroundTruth:
    """Expected states for everything observed so far, with snapshots at chosen times."""

    def __init__(
        self,
        reference: ReferenceData,
        *,
        config: CoreConfig | None = None,
        independent: bool = True,
        snapshot_times: Iterable[int] = (),
    ) -> None:
        self.reference = reference
        self.config = config or CoreConfig()
        self.core: dict[str, WardStateValue] = {}
        self.recount: Recount | None = None
        if independent:
            typical = {wid: w.typical_available_beds for wid, w in reference.wards.items()}
            self.recount = Recount(typical, lateness_s=self.config.lateness_s)
        self.expected_rejections: Counter[InvalidReason] = Counter()
        self.published = 0
        self.snapshots: list[TruthSnapshot] = []
        self._pending_times = sorted(set(snapshot_times), reverse=True)
        self._fate_problems: list[str] = []
        self._last_ts: int | None = None

    # ------------------------------------------------------------------ input

    def observe(self, emissions: Iterable[Emission]) -> None:
        """Take emissions in publish order (times never go back except for bad input)."""
        batch: list[Emission] = []
        for emission in emissions:
            if self._pending_times and emission.ts > self._pending_times[-1]:
                self._apply(batch)
                batch = []
                while self._pending_times and emission.ts > self._pending_times[-1]:
                    self.snapshots.append(self.snapshot(self._pending_times.pop()))
            batch.append(emission)
        self._apply(batch)

    def finish(self, end: int) -> TruthSnapshot:
        """Snapshots still due up to ``end``, then one at ``end`` (returned)."""
        while self._pending_times and self._pending_times[-1] <= end:
            self.snapshots.append(self.snapshot(self._pending_times.pop()))
        final = self.snapshot(end)
        if not self.snapshots or self.snapshots[-1].at != end:
            self.snapshots.append(final)
        return final

    def _apply(self, emissions: list[Emission]) -> None:
        if not emissions:
            return
        to_core: list[Emission] = []
        for e in emissions:
            self.published += 1
            if e.rejected is not None:
                self.expected_rejections[e.rejected] += 1
            if e.rejected in _CORE_DECIDES:
                to_core.append(e)
            self._last_ts = e.ts
        if not to_core:
            return
        events = _events_adapter.validate_python([e.payload for e in to_core])
        wards = self.reference.wards
        config = self.config
        core = self.core
        recount = self.recount
        for emission, event in zip(to_core, events, strict=True):
            ward = wards[event.ward_id]
            state = core.get(event.ward_id)
            if state is None:
                state = core[event.ward_id] = WardStateValue.new(ward, config)
            refused: InvalidReason | None = None
            for output in apply_in_place(state, event, ward=ward, config=config):
                if isinstance(output, Rejected):
                    refused = output.reason
            if refused is not emission.rejected:
                self._fate_problems.append(
                    f"core: event {event.event_id} on {event.ward_id} labelled "
                    f"{emission.rejected} but the core said {refused}"
                )
            if recount is not None:
                payload = emission.payload
                assert isinstance(payload, dict)
                recounted = recount.apply(payload)
                if recounted is not emission.rejected:
                    self._fate_problems.append(
                        f"recount: event {event.event_id} on {event.ward_id} labelled "
                        f"{emission.rejected} but the recount said {recounted}"
                    )

    # ------------------------------------------------------------------ output

    def snapshot(self, at: int) -> TruthSnapshot:
        wards = {
            ward_id: WardTruth(state.vector(0.0), state.as_of, state.wm)
            for ward_id, state in self.core.items()
            if state.wm is not None
        }
        return TruthSnapshot(at, wards, self._rollups(wards))

    def recount_snapshot(self, at: int, *, bucketed: bool = False) -> TruthSnapshot:
        """The same snapshot from the independent recount (for cross-checking).

        The recount's windows are exact. The core folds time older than its lateness bound
        into buckets, so its windows start at the start of the bucket holding ``wm - W``
        (its documented rule, ``_core_window_start``); ``bucketed`` starts the recount's
        windows there too, so that the two must agree to the patient-second.
        """
        if self.recount is None:
            raise ValueError("the independent recount is off")
        recount = self.recount
        start = self._core_window_start if bucketed else None
        wards = {
            ward_id: WardTruth(recount.vector(w, window_start=start), w.as_of, w.wm)
            for ward_id, w in recount.wards.items()
            if w.wm is not None
        }
        return TruthSnapshot(at, wards, self._rollups(wards))

    def _core_window_start(self, wm: int, window_s: int) -> int:
        config = self.config
        fine, coarse = config.fine_bucket_s, config.coarse_bucket_s
        final = (wm - config.lateness_s) // fine * fine
        start = wm - window_s
        if start >= final:
            return start
        if start >= final - coarse:
            return start // fine * fine
        return start // coarse * coarse

    def _rollups(self, wards: dict[str, WardTruth]) -> dict[str, tuple[int, ...]]:
        sums: dict[str, list[int]] = {}
        reference = self.reference
        for ward_id, truth in wards.items():
            ward = reference.wards[ward_id]
            region = reference.hospitals[ward.hospital_id].region_code
            for scope in ("nation", f"region:{region}", f"hospital:{ward.hospital_id}"):
                for care in (str(ward.care_type), ALL_CARE_TYPES):
                    key = f"{scope}:{care}"
                    total = sums.get(key)
                    if total is None:
                        sums[key] = list(truth.vector)
                    else:
                        for i, value in enumerate(truth.vector):
                            total[i] += value
        return {key: tuple(vector) for key, vector in sums.items()}

    def disagreements(self) -> list[str]:
        """Where the core and the recount differ, and events whose fate differs from the label.

        Every count, integral and time must be identical (the recount's windows start
        where the core's documented bucket rule starts them, ``recount_snapshot``).
        """
        problems = list(self._fate_problems)
        if self.recount is None or self._last_ts is None:
            return problems
        core = self.snapshot(self._last_ts)
        mine = self.recount_snapshot(self._last_ts, bucketed=True)
        if set(core.wards) != set(mine.wards):
            problems.append(f"wards differ: {sorted(set(core.wards) ^ set(mine.wards))[:10]}")
        for ward_id in sorted(set(core.wards) & set(mine.wards)):
            a, b = core.wards[ward_id], mine.wards[ward_id]
            if a.vector != b.vector:
                diff = {
                    m.VECTOR_FIELDS[i]: (x, y)
                    for i, (x, y) in enumerate(zip(a.vector, b.vector, strict=True))
                    if x != y
                }
                problems.append(f"{ward_id}: core != recount {diff}")
            if (a.as_of, a.last_reported_at) != (b.as_of, b.last_reported_at):
                problems.append(f"{ward_id}: times core {a.as_of, a.last_reported_at} != {b}")
        return problems

    def to_json(self, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "meta": {
                **(meta or {}),
                "events_published": self.published,
                "rejected_expected": {
                    str(reason): n for reason, n in sorted(self.expected_rejections.items())
                },
                "engine": "streams.core.ward_state",
                "lateness_s": self.config.lateness_s,
                "note": "ward windows end at each ward's last_reported_at; wards_reporting "
                "assumes no ward is stale (staleness depends on the wall clock)",
            },
            "snapshots": [snapshot.to_json() for snapshot in self.snapshots],
        }
