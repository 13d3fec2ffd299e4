"""Alert rules as an explicit state machine, one ``AlertTracker`` per scope, care type and rule.

Phases (cf. starlette's ``WebSocketState``)::

    IDLE --(level > 1 held for `hold`)--> OPEN            emits raised
    OPEN --(higher level held)--------->  OPEN            emits escalated
    OPEN --(lower level > 1 held)------>  OPEN            emits deescalated
    OPEN --(level 1 held)-------------->  IDLE            emits resolved

Pressure rule (DOMAIN.md "Pressure levels and alerts"): the level is ``pressure.assess``
with hysteresis: while an alert holds level k, the triggers of levels <= k count as met down
to trigger - margin (default 2 pp of occupancy, 1 per 100 for overcrowding), so a value
wandering ±1 pp around a trigger neither clears nor re-raises. A change of level must hold
for ``hold`` (default 10 min) of *event time* before the alert changes: the level is
observed at every update of the scope (``observe_pressure(at=as_of)``); the first
observation of a level other than the alert's starts the clock, an observation back at the
alert's level stops it, and the change happens at the first observation at least ``hold``
after the start. While a rise is pending the alert moves to the lowest level seen during
it (the one that held throughout); while a fall is pending, to the highest.

Stale rule: a ward silent past its expected interval (``ward_state.is_stale``, wall clock)
raises a stale alert at once (the interval is the grace time); it resolves at the first
observation after the ward reported again.

At most one open alert per tracker. ``alert_id`` is uuid5 of scope, care type, rule and
the raise time, so a replay raises the same id; ``sequence`` is 1 for raised and +1 per
change. ``acknowledged`` is the API's business (it is not a level change). Observations
older than the newest one seen are ignored (replays). The clock is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final
from uuid import UUID, uuid5

from schemas.messages import AlertEvent, AlertRule, AlertState
from schemas.types import PressureLevel
from streams.core.config import CoreConfig
from streams.core.pressure import Assessment, Driver, assess

__all__ = [
    "ALERT_NAMESPACE",
    "AlertPhase",
    "AlertTracker",
    "alert_id_for",
    "observe_pressure",
    "observe_stale",
]

ALERT_NAMESPACE: Final = UUID("5d1c8f0e-2b7a-5c38-9a41-6f0c3e1d2b90")
STALE_ALERT_LEVEL: Final = PressureLevel.STRAINED  # a silent ward is an information shortfall

LEVEL_NAMES: Final = {
    1: "normalläge",
    2: "ansträngt läge",
    3: "kritiskt läge",
    4: "allvarligt läge",
}


class AlertPhase(Enum):
    IDLE = "idle"  # no open alert
    OPEN = "open"  # raised and not yet resolved


def alert_id_for(scope_id: str, care_type: str, rule: AlertRule, raised_at_s: int) -> UUID:
    return uuid5(ALERT_NAMESPACE, f"{scope_id}|{care_type}|{rule.value}|{raised_at_s}")


def _dt(s: int) -> datetime:
    return datetime.fromtimestamp(s, UTC)


@dataclass(slots=True)
class AlertTracker:
    scope_id: str
    care_type: str
    rule: AlertRule
    region_code: str | None
    phase: AlertPhase = AlertPhase.IDLE
    level: int = 1  # level of the open alert; 1 when idle
    alert_id: UUID | None = None
    raised_at_s: int | None = None
    sequence: int = 0
    pending_level: int = 0  # 0: no change pending
    pending_since_s: int = 0
    last_s: int | None = None  # newest observation

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope_id,
            "ct": self.care_type,
            "rule": self.rule.value,
            "region": self.region_code,
            "phase": self.phase.value,
            "level": self.level,
            "id": str(self.alert_id) if self.alert_id is not None else None,
            "raised": self.raised_at_s,
            "seq": self.sequence,
            "pl": self.pending_level,
            "ps": self.pending_since_s,
            "last": self.last_s,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AlertTracker:
        return cls(
            scope_id=raw["scope"],
            care_type=raw["ct"],
            rule=AlertRule(raw["rule"]),
            region_code=raw["region"],
            phase=AlertPhase(raw["phase"]),
            level=raw["level"],
            alert_id=UUID(raw["id"]) if raw["id"] is not None else None,
            raised_at_s=raw["raised"],
            sequence=raw["seq"],
            pending_level=raw["pl"],
            pending_since_s=raw["ps"],
            last_s=raw["last"],
        )

    def _event(
        self,
        state: AlertState,
        at_s: int,
        level: int,
        previous: int | None,
        value: float | None,
        threshold: float | None,
        message: str,
    ) -> AlertEvent:
        assert self.alert_id is not None
        assert self.raised_at_s is not None
        return AlertEvent(
            alert_id=self.alert_id,
            sequence=self.sequence,
            state=state,
            rule=self.rule,
            scope_id=self.scope_id,
            care_type=self.care_type,
            region_code=self.region_code,
            level=PressureLevel(level),
            previous_level=PressureLevel(previous) if previous is not None else None,
            value=value,
            threshold=threshold,
            occurred_at=_dt(at_s),
            raised_at=_dt(self.raised_at_s),
            message=message,
        )

    def _transition(
        self, new: int, at_s: int, value: float | None, threshold: float | None, text: str
    ) -> AlertEvent:
        """Move the open alert (or raise one) to level ``new``."""
        prev = self.level
        if self.phase is AlertPhase.IDLE:
            self.phase = AlertPhase.OPEN
            self.alert_id = alert_id_for(self.scope_id, self.care_type, self.rule, at_s)
            self.raised_at_s = at_s
            self.sequence = 1
            self.level = new
            return self._event(AlertState.RAISED, at_s, new, None, value, threshold, text)
        self.sequence += 1
        if new == 1:
            ev = self._event(AlertState.RESOLVED, at_s, new, prev, value, threshold, text)
            self.phase = AlertPhase.IDLE
            self.alert_id = None
            self.raised_at_s = None
            self.level = 1
            return ev
        state = AlertState.ESCALATED if new > prev else AlertState.DEESCALATED
        self.level = new
        return self._event(state, at_s, new, prev, value, threshold, text)


def _pct(v: float | None) -> str:
    return "okänd" if v is None else f"{v * 100:.0f} %"


def _threshold_for(level: int, a: Assessment, target: float, config: CoreConfig) -> float | None:
    if level == int(a.level) and a.driver != Driver.OCCUPANCY:
        return a.threshold
    t = config.pressure
    return {
        1: target - config.alert_clear_margin,
        2: target,
        3: t.critical_occupancy,
        4: t.severe_occupancy,
    }[level]


def observe_pressure(
    tracker: AlertTracker,
    *,
    at: datetime,
    occupied: int,
    available: int,
    overcrowded: int,
    free_beds: int,
    target: float,
    config: CoreConfig,
    no_free_bed_applies: bool = False,
) -> list[AlertEvent]:
    """Observe a scope's counts at event time ``at``; return the alert changes (0 or 1)."""
    at_s = int(at.timestamp())
    if tracker.last_s is not None and at_s < tracker.last_s:
        return []
    tracker.last_s = at_s
    a = assess(
        occupied=occupied,
        available=available,
        overcrowded=overcrowded,
        free_beds=free_beds,
        target=target,
        thresholds=config.pressure,
        no_free_bed_applies=no_free_bed_applies,
        held=tracker.level,
        margin=config.alert_clear_margin,
        margin_per_100=config.alert_clear_margin_per_100,
    )
    level = int(a.level)
    cur = tracker.level
    if level == cur:
        tracker.pending_level = 0
        return []
    up = level > cur
    pending = tracker.pending_level
    if pending == 0 or (pending > cur) != up:
        tracker.pending_level = level
        tracker.pending_since_s = at_s
    else:
        tracker.pending_level = min(pending, level) if up else max(pending, level)
    if at_s - tracker.pending_since_s < config.alert_hold_s:
        return []
    new = tracker.pending_level
    tracker.pending_level = 0
    text = (
        f"{tracker.scope_id} ({tracker.care_type}): nivå {new} ({LEVEL_NAMES[new]}), "
        f"beläggning {_pct(a.occupancy)}, riktvärde {_pct(target)}"
    )
    if a.driver == Driver.OVERCROWDED and new == level:
        text += f", överbeläggningar {a.value:.1f} per 100 vårdplatser"
    elif a.driver == Driver.NO_FREE_BED and new == level:
        text += ", ingen ledig vårdplats"
    elif a.driver == Driver.NO_BEDS:
        text += ", inga disponibla vårdplatser"
    return [tracker._transition(new, at_s, a.value, _threshold_for(new, a, target, config), text)]


def observe_stale(
    tracker: AlertTracker,
    *,
    now: datetime,
    stale: bool,
    last_reported_at: datetime | None,
    interval_s: int,
) -> list[AlertEvent]:
    """Observe a ward's freshness at wall-clock ``now``; return the alert changes (0 or 1)."""
    now_s = int(now.timestamp())
    if tracker.last_s is not None and now_s < tracker.last_s:
        return []
    tracker.last_s = now_s
    silent_s = (
        float(now_s - int(last_reported_at.timestamp())) if last_reported_at is not None else None
    )
    since = last_reported_at.isoformat() if last_reported_at is not None else "aldrig"
    if stale and tracker.phase is AlertPhase.IDLE:
        text = f"{tracker.scope_id}: ingen rapport sedan {since} (förväntat var {interval_s} s)"
        return [
            tracker._transition(int(STALE_ALERT_LEVEL), now_s, silent_s, float(interval_s), text)
        ]
    if not stale and tracker.phase is AlertPhase.OPEN:
        text = f"{tracker.scope_id}: rapporterar igen (senast {since})"
        return [tracker._transition(1, now_s, silent_s, float(interval_s), text)]
    return []
