"""History from the store, behind a thin adapter.

The routes depend on ``HistoryStore`` (a Protocol with the API's own response models);
``StoreQueries`` implements it on top of ``store.queries`` (the store package's async query
functions), translating their typed results. Tests can pass any other implementation.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from schemas.messages import AlertEvent


class Bucket(StrEnum):
    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


class HistoryPoint(BaseModel):
    t: datetime = Field(description="Start of the bucket (UTC).")
    occupancy: float | None = Field(description="Time-weighted occupancy over the bucket.")
    available_beds: float | None
    occupied: float | None
    overcrowded: float | None
    outlying_hosted: float | None


class HistoryResponse(BaseModel):
    scope_id: str
    care_type: str
    bucket: Bucket
    points: list[HistoryPoint]


class ComplianceRow(BaseModel):
    scope_id: str
    care_type: str
    period_start: date
    occupancy: float | None = Field(description="Time-weighted occupancy over the period.")
    target: float | None
    share_within_target: float | None = Field(
        description="Share of the period's time with occupancy at or below target."
    )
    compliant: bool | None


class ComplianceResponse(BaseModel):
    period: Period
    rows: list[ComplianceRow]


class DailyPoint(BaseModel):
    day: date = Field(description="Europe/Stockholm calendar day.")
    t: datetime = Field(description="06:00 Europe/Stockholm of that day, in UTC.")
    available_beds: int | None
    occupied: int | None
    overcrowded: int | None
    outlying_hosted: int | None
    overcrowded_per_100: float | None
    outlying_per_100: float | None
    wards_reporting: int | None = None


class DailyResponse(BaseModel):
    scope_id: str
    points: list[DailyPoint]


class HistoryUnavailableError(RuntimeError):
    """The store cannot answer (not reachable, or its query module is missing)."""


class HistoryStore(Protocol):
    async def history(
        self, scope_id: str, care_type: str, start: datetime, end: datetime, bucket: Bucket
    ) -> list[HistoryPoint]: ...

    async def alert_history(
        self, *, region_code: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[AlertEvent]: ...

    async def compliance(
        self, period: Period, start: date, end: date, scope_ids: list[str] | None
    ) -> list[ComplianceRow]: ...

    async def daily(self, scope_id: str, start: date, end: date) -> list[DailyPoint]: ...


class NoHistory:
    """Used when no store is configured: every history query is unavailable (503)."""

    async def history(
        self, scope_id: str, care_type: str, start: datetime, end: datetime, bucket: Bucket
    ) -> list[HistoryPoint]:
        raise HistoryUnavailableError("no history store configured")

    async def alert_history(
        self, *, region_code: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[AlertEvent]:
        raise HistoryUnavailableError("no history store configured")

    async def compliance(
        self, period: Period, start: date, end: date, scope_ids: list[str] | None
    ) -> list[ComplianceRow]:
        raise HistoryUnavailableError("no history store configured")

    async def daily(self, scope_id: str, start: date, end: date) -> list[DailyPoint]:
        raise HistoryUnavailableError("no history store configured")
