"""What ``ward_state.apply`` returns beside the new state (plain values; the wiring routes them).

- ``Rejected``: the event had no effect and belongs on ``capmon.invalid`` (``too_late`` or
  ``duplicate``; every other reason is decided by ``schemas.validation`` before the core).
- ``PreparednessObserved``: a region declared a preparedness level (shown on its rollups).
- ``DailySnapshot`` (from ``daily_snapshot``): a ward's final 06:00 figures for one day,
  emitted once the 06:00 instant has passed the lateness bound and can no longer change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from schemas.messages import InvalidReason
from schemas.types import PreparednessLevel
from streams.core.daily_snapshot import DailySnapshot

__all__ = ["DailySnapshot", "Output", "PreparednessObserved", "Rejected"]


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: InvalidReason
    event_id: UUID
    ward_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class PreparednessObserved:
    event_id: UUID
    ward_id: str
    region_code: str
    level: PreparednessLevel
    occurred_at: datetime


Output = Rejected | PreparednessObserved | DailySnapshot
