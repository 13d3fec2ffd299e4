"""Rollups: the sum over a scope's children by replacement of each child's latest contribution.

A scope (hospital, region, nation) keeps, per child (a ward, or a hospital for the larger
scopes), the child's latest contribution with its version, and per care type the sum of
all children's contributions. A new contribution replaces the old one and the sums move by
(new - old); a contribution whose version is not newer than the kept one is ignored, so a
replay under at-least-once delivery changes nothing. All vectors are integers
(``streams.core.measures``), so the sums are exact and a region's rollup always equals the
sum of its wards' latest states, whatever the order in which the contributions came.

A contribution is a ``Part`` per care type: the additive vector plus the newest and oldest
``as_of`` among the wards it covers. A ward contributes one part (its care type); a hospital
contributes its per-care-type sums, so a region or the nation sums a few dozen hospitals
rather than hundreds of wards. The ``all`` rollup is the sum over care types.

Ratios come from the sums (``measures.measures_dict``): occupancy = Σoccupied/Σavailable,
per 100 = Σovercrowded/Σavailable×100, time-weighted = Σpatient_seconds/Σbed_seconds,
reporting coverage = Σwards_reporting/Σward_count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import add, sub
from typing import Any, Final

from schemas.messages import ScopeRollup
from schemas.types import ALL_CARE_TYPES, PreparednessLevel
from streams.core import measures as m
from streams.core.config import PressureThresholds
from streams.core.pressure import pressure_level
from streams.core.ward_state import WardStateValue

__all__ = [
    "ALL",
    "Part",
    "ScopeState",
    "message_dict",
    "no_free_bed_applies",
    "to_message",
    "ward_parts",
]

ALL: Final = ALL_CARE_TYPES
_ZEROS: Final = (0,) * m.VECTOR_LEN
STATE_FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class Part:
    """One child's contribution for one care type."""

    vector: tuple[int, ...]
    as_of_s: int  # newest as_of among the wards covered (epoch seconds)
    oldest_s: int  # oldest as_of among the wards covered

    def to_list(self) -> list[int]:
        return [self.as_of_s, self.oldest_s, *self.vector]

    @classmethod
    def from_list(cls, raw: list[int]) -> Part:
        return cls(tuple(raw[2:]), raw[0], raw[1])


def ward_parts(
    state: WardStateValue,
    care_type: str,
    target: float,
    *,
    vector: tuple[int, ...] | None = None,
) -> dict[str, Part]:
    """A ward's contribution: its vector under its care type (pass ``vector`` if computed)."""
    if state.wm is None:
        raise ValueError(f"ward {state.ward_id} has no events yet")
    as_of = state.as_of if state.as_of is not None else state.wm
    vec = vector if vector is not None else state.vector(target)
    return {str(care_type): Part(vec, as_of, as_of)}


def no_free_bed_applies(scope_id: str) -> bool:
    """'No free bed of the care type in the region' is a trigger for regions and the nation."""
    return scope_id == "nation" or scope_id.startswith("region:")


class ScopeState:
    """Sums of one scope over its children, per care type and ``all``."""

    __slots__ = ("children", "scope_id", "totals", "version")

    def __init__(self, scope_id: str) -> None:
        self.scope_id = scope_id
        self.version = 0
        # child id -> (child version, parts by care type; never "all")
        self.children: dict[str, tuple[int, dict[str, Part]]] = {}
        # care type (and "all") -> summed vector
        self.totals: dict[str, list[int]] = {}

    def _add(self, care_type: str, vec: tuple[int, ...] | list[int], sign: int) -> None:
        """totals[care_type] and totals[all] += sign * vec (element-wise, in C via map)."""
        totals = self.totals
        op = add if sign > 0 else sub
        for key in (care_type, ALL):
            tot = totals.get(key)
            new = list(vec) if tot is None and sign > 0 else list(map(op, tot or _ZEROS, vec))
            if new[m.WARD_COUNT] == 0 and not any(new):
                totals.pop(key, None)
            else:
                totals[key] = new

    def update(self, child_id: str, version: int, parts: Mapping[str, Part]) -> frozenset[str]:
        """Replace ``child_id``'s contribution; return the care types (and ``all``) changed.

        Ignored (empty result) unless ``version`` is newer than the kept one.
        """
        old = self.children.get(child_id)
        if old is not None and version <= old[0]:
            return frozenset()
        old_parts = old[1] if old is not None else {}
        changed: set[str] = set()
        for ct, part in parts.items():
            if ct == ALL:
                raise ValueError("contributions are per care type; 'all' is derived")
            prev = old_parts.get(ct)
            if prev == part:
                continue
            if prev is not None:
                self._add(ct, list(map(sub, part.vector, prev.vector)), +1)
            else:
                self._add(ct, part.vector, +1)
            changed.add(ct)
        for ct, prev in old_parts.items():
            if ct not in parts:
                self._add(ct, prev.vector, -1)
                changed.add(ct)
        self.children[child_id] = (version, dict(parts))
        if changed:
            changed.add(ALL)
            self.version += 1
        return frozenset(changed)

    def remove(self, child_id: str) -> frozenset[str]:
        """Drop a child (a ward moved or deregistered)."""
        old = self.children.pop(child_id, None)
        if old is None:
            return frozenset()
        for ct, prev in old[1].items():
            self._add(ct, prev.vector, -1)
        self.version += 1
        return frozenset({*old[1], ALL})

    def care_types(self) -> list[str]:
        """Care types with a sum (``all`` first)."""
        return sorted(self.totals, key=lambda ct: (ct != ALL, ct))

    def times(self) -> dict[str, tuple[int, int]]:
        """Newest and oldest ``as_of`` per care type and ``all``, in one pass (O(children))."""
        out: dict[str, tuple[int, int]] = {}
        for _version, parts in self.children.values():
            for ct, part in parts.items():
                for key in (ct, ALL):
                    cur = out.get(key)
                    if cur is None:
                        out[key] = (part.as_of_s, part.oldest_s)
                    else:
                        out[key] = (
                            part.as_of_s if part.as_of_s > cur[0] else cur[0],
                            part.oldest_s if part.oldest_s < cur[1] else cur[1],
                        )
        return out

    def part(self, care_type: str) -> Part | None:
        """This scope's sum for ``care_type`` as a contribution to a larger scope."""
        tot = self.totals.get(care_type)
        times = self.times().get(care_type)
        if tot is None or times is None:
            return None
        return Part(tuple(tot), times[0], times[1])

    def parts(self) -> dict[str, Part]:
        """This scope's contribution to its parent: one part per care type (not ``all``)."""
        times = self.times()
        return {
            ct: Part(tuple(tot), times[ct][0], times[ct][1])
            for ct, tot in self.totals.items()
            if ct != ALL and ct in times
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": STATE_FORMAT,
            "scope": self.scope_id,
            "ver": self.version,
            "children": {
                cid: [ver, {ct: p.to_list() for ct, p in parts.items()}]
                for cid, (ver, parts) in self.children.items()
            },
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ScopeState:
        """Rebuild; the sums are recomputed from the children (they are derived data)."""
        if raw.get("v") != STATE_FORMAT:
            raise ValueError(f"unknown scope state format {raw.get('v')!r}")
        s = cls(raw["scope"])
        for cid, (ver, parts) in raw["children"].items():
            ps = {ct: Part.from_list(p) for ct, p in parts.items()}
            s.children[cid] = (ver, ps)
            for ct, p in ps.items():
                s._add(ct, p.vector, +1)
        s.version = raw["ver"]
        return s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScopeState):
            return NotImplemented
        return (self.scope_id, self.version, self.children) == (
            other.scope_id,
            other.version,
            other.children,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n = len(self.children)
        return f"ScopeState({self.scope_id!r}, version={self.version}, children={n})"


_DEFAULT_THRESHOLDS = PressureThresholds()


def message_dict(
    scope: ScopeState,
    care_type: str,
    *,
    target: float | None = None,
    thresholds: PressureThresholds = _DEFAULT_THRESHOLDS,
    declared_preparedness: PreparednessLevel | None = None,
) -> dict[str, Any]:
    """``schemas.messages.ScopeRollup`` as a plain dict.

    ``target`` defaults to the bed-weighted mean of the wards' targets (0 without beds).
    """
    vec = scope.totals.get(care_type)
    times = scope.times().get(care_type)
    if vec is None or times is None:
        raise ValueError(f"{scope.scope_id} has nothing for care type {care_type!r}")
    if target is None:
        target = m.weighted_target(vec) or 0.0
    level = pressure_level(
        occupied=vec[m.OCCUPIED],
        available=vec[m.AVAILABLE],
        overcrowded=vec[m.OVERCROWDED],
        free_beds=vec[m.FREE],
        target=target,
        thresholds=thresholds,
        no_free_bed_applies=no_free_bed_applies(scope.scope_id),
    )
    wards = vec[m.WARD_COUNT]
    return {
        "message_version": 1,
        "kind": "rollup",
        "scope_id": scope.scope_id,
        "care_type": care_type,
        "version": scope.version,
        "as_of": datetime.fromtimestamp(times[0], UTC),
        "oldest_as_of": datetime.fromtimestamp(times[1], UTC),
        "ward_count": wards,
        "wards_reporting": vec[m.WARDS_REPORTING],
        "reporting_coverage": vec[m.WARDS_REPORTING] / wards if wards > 0 else None,
        "counts": m.counts_dict(vec),
        "measures": m.measures_dict(vec),
        "target": target,
        "pressure_level": level,
        "declared_preparedness": declared_preparedness,
    }


def to_message(
    scope: ScopeState,
    care_type: str,
    *,
    target: float | None = None,
    thresholds: PressureThresholds = _DEFAULT_THRESHOLDS,
    declared_preparedness: PreparednessLevel | None = None,
) -> ScopeRollup:
    """The validated ``ScopeRollup`` message."""
    return ScopeRollup.model_validate(
        message_dict(
            scope,
            care_type,
            target=target,
            thresholds=thresholds,
            declared_preparedness=declared_preparedness,
        )
    )
