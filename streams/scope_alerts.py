"""The alert trackers of one scope, fed with that scope's rollups (thin glue over core.alerts).

Pressure alerts are kept for hospitals, regions and the nation, per care type and for
``all``: DOMAIN.md notes that single small wards run full by design (Erlang), so a ward at
100 % is not an alert, while its hospital or region above target is. Wards raise *stale*
alerts only (``stale_event``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.messages import AlertEvent, AlertRule, AlertState
from schemas.types import PressureLevel
from streams.core.alerts import STALE_ALERT_LEVEL, AlertTracker, alert_id_for, observe_pressure
from streams.core.config import CoreConfig
from streams.core.rollup import no_free_bed_applies


def _alert_dict(event: AlertEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


class ScopeAlerts:
    """Pressure alert trackers of one scope, by care type."""

    __slots__ = ("config", "scope_id", "trackers")

    def __init__(self, scope_id: str, config: CoreConfig) -> None:
        self.scope_id = scope_id
        self.config = config
        self.trackers: dict[str, AlertTracker] = {}

    @classmethod
    def from_dict(cls, scope_id: str, raw: Any, config: CoreConfig) -> ScopeAlerts:
        alerts = cls(scope_id, config)
        if isinstance(raw, dict):
            for care_type, tracker in raw.items():
                alerts.trackers[care_type] = AlertTracker.from_dict(tracker)
        return alerts

    def to_dict(self) -> dict[str, Any]:
        return {ct: tracker.to_dict() for ct, tracker in self.trackers.items()}

    def observe(self, rollup: dict[str, Any], *, region_code: str | None) -> list[dict[str, Any]]:
        """Alert changes caused by this rollup of the scope (usually none)."""
        care_type = rollup["care_type"]
        tracker = self.trackers.get(care_type)
        if tracker is None:
            tracker = self.trackers[care_type] = AlertTracker(
                self.scope_id, care_type, AlertRule.PRESSURE, region_code
            )
        counts = rollup["counts"]
        as_of = rollup["as_of"]
        events = observe_pressure(
            tracker,
            at=as_of,
            occupied=counts["occupied"],
            available=counts["available_beds"],
            overcrowded=counts["overcrowded"],
            free_beds=counts["free_beds"],
            target=rollup["target"],
            config=self.config,
            no_free_bed_applies=no_free_bed_applies(self.scope_id),
        )
        return [_alert_dict(event) for event in events]

    @staticmethod
    def stale_event(
        *,
        ward_id: str,
        ward_name: str,
        region_code: str,
        care_type: str,
        last_reported_s: int,
        interval_s: int,
        resolved: bool,
    ) -> dict[str, Any]:
        """The raised or resolved event of a ward's stale alert.

        Derived entirely from the ward's last report, so a replay (or a restarted worker)
        emits the very same alert id and sequence: the stale flag itself is in the ward
        state, and no tracker needs to be stored.
        """
        scope_id = f"ward:{ward_id}"
        became_stale_s = last_reported_s + interval_s
        last = datetime.fromtimestamp(last_reported_s, UTC)
        if resolved:
            text = f"{ward_name}: rapporterar igen"
        else:
            text = (
                f"{ward_name}: ingen rapport sedan {last.isoformat()} "
                f"(förväntat var {interval_s} s)"
            )
        event = AlertEvent(
            alert_id=alert_id_for(scope_id, care_type, AlertRule.STALE, became_stale_s),
            sequence=2 if resolved else 1,
            state=AlertState.RESOLVED if resolved else AlertState.RAISED,
            rule=AlertRule.STALE,
            scope_id=scope_id,
            care_type=care_type,
            region_code=region_code,
            level=PressureLevel.NORMAL if resolved else STALE_ALERT_LEVEL,
            previous_level=STALE_ALERT_LEVEL if resolved else None,
            value=float(interval_s),
            threshold=float(interval_s),
            occurred_at=datetime.fromtimestamp(
                became_stale_s if not resolved else max(became_stale_s, last_reported_s), UTC
            ),
            raised_at=datetime.fromtimestamp(became_stale_s, UTC),
            message=text,
        )
        return _alert_dict(event)


__all__ = ["ScopeAlerts"]
