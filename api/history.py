"""History from the store, behind a thin adapter.

The routes depend on ``HistoryStore`` (a Protocol with the API's own response models);
``StoreHistory`` implements it on top of ``store.queries`` (the store package's async query
functions), translating their typed results. Tests can pass any other implementation.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel, Field

from schemas.messages import AlertEvent, AlertState
from store import queries


class Bucket(StrEnum):
    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


class HistoryPoint(BaseModel):
    t: datetime = Field(description="Start of the bucket (UTC); a local day for 1d.")
    occupancy: float | None = Field(
        description="Time-weighted occupancy over the bucket (ratio of sums); null: no beds."
    )
    available_beds: float = Field(description="Time-weighted mean over the bucket.")
    occupied: float
    overcrowded: float
    outlying_hosted: float
    ward_count: int
    coverage: float | None = Field(description="Share of the ward-time with a known state.")


class HistoryResponse(BaseModel):
    scope_id: str
    care_type: str
    bucket: Bucket
    points: list[HistoryPoint]


class AlertView(AlertEvent):
    acknowledged: bool = Field(description="Someone acknowledged the alert.")


class ComplianceRow(BaseModel):
    scope_id: str
    care_type: str
    period_start: date = Field(description="First Europe/Stockholm day of the day or month.")
    above_target_seconds: float
    covered_seconds: float
    share_above_target: float | None = Field(
        description="Share of the known time spent above the occupancy target."
    )


class ComplianceResponse(BaseModel):
    period: Period
    rows: list[ComplianceRow]


class DailyPoint(BaseModel):
    day: date = Field(description="Europe/Stockholm calendar day.")
    taken_at: datetime = Field(description="06:00 Europe/Stockholm of that day, in UTC.")
    ward_count: int
    available_beds: int
    occupied: int
    overcrowded: int
    outlying_hosted: int
    overcrowded_per_100: float | None
    outlying_per_100: float | None


class DailyResponse(BaseModel):
    scope_id: str
    care_type: str
    points: list[DailyPoint]


class HistoryUnavailableError(RuntimeError):
    """The store cannot answer (not reachable, or its query module is missing)."""


class HistoryStore(Protocol):
    async def history(
        self, scope_id: str, care_type: str, start: datetime, end: datetime, bucket: Bucket
    ) -> list[HistoryPoint]: ...

    async def alert_history(
        self, *, region_code: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[AlertView]: ...

    async def compliance(
        self, period: Period, start: date, end: date, region_code: str | None
    ) -> list[ComplianceRow]: ...

    async def daily(
        self, scope_id: str, care_type: str, start: date, end: date
    ) -> list[DailyPoint]: ...


class NoHistory:
    """Used when no store is configured: every history query is unavailable (503)."""

    async def history(
        self, scope_id: str, care_type: str, start: datetime, end: datetime, bucket: Bucket
    ) -> list[HistoryPoint]:
        raise HistoryUnavailableError("no history store configured")

    async def alert_history(
        self, *, region_code: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[AlertView]:
        raise HistoryUnavailableError("no history store configured")

    async def compliance(
        self, period: Period, start: date, end: date, region_code: str | None
    ) -> list[ComplianceRow]:
        raise HistoryUnavailableError("no history store configured")

    async def daily(
        self, scope_id: str, care_type: str, start: date, end: date
    ) -> list[DailyPoint]:
        raise HistoryUnavailableError("no history store configured")


class StoreHistory:
    """``HistoryStore`` on ``store.queries``, with connections from the API's pool.

    Any database error becomes ``HistoryUnavailableError`` (answered 503): the live parts
    of the API keep working while the store is down."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[queries.AsyncConn]:
        try:
            async with self._pool.connection(timeout=5.0) as conn:
                yield conn
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise HistoryUnavailableError(f"history store: {type(exc).__name__}") from exc

    async def history(
        self, scope_id: str, care_type: str, start: datetime, end: datetime, bucket: Bucket
    ) -> list[HistoryPoint]:
        async with self._connection() as conn:
            points = await queries.history(
                conn,
                scope_id,
                start=start,
                end=end,
                bucket=queries.Bucket(bucket.value),
                care_type=care_type,
            )
        return [HistoryPoint.model_validate(p, from_attributes=True) for p in points]

    async def alert_history(
        self, *, region_code: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[AlertView]:
        async with self._connection() as conn:
            records = await queries.alert_history(
                conn, region_code=region_code, start=start, end=end, limit=limit
            )
        return [
            AlertView(**dict(r.event), acknowledged=r.acknowledged or _acknowledged(r.event))
            for r in records
        ]

    async def compliance(
        self, period: Period, start: date, end: date, region_code: str | None
    ) -> list[ComplianceRow]:
        async with self._connection() as conn:
            rows = await queries.compliance(
                conn, period=period.value, start=start, end=end, region_code=region_code
            )
        return [
            ComplianceRow(
                scope_id=r.scope_id,
                care_type=r.care_type,
                period_start=r.period_start,
                above_target_seconds=r.above_target_seconds,
                covered_seconds=r.covered_seconds,
                share_above_target=r.share_above,
            )
            for r in rows
        ]

    async def daily(
        self, scope_id: str, care_type: str, start: date, end: date
    ) -> list[DailyPoint]:
        async with self._connection() as conn:
            snapshots = await queries.daily_snapshots(
                conn, scope_id, start=start, end=end, care_type=care_type
            )
        return [DailyPoint.model_validate(s, from_attributes=True) for s in snapshots]


def _acknowledged(alert: AlertEvent) -> bool:
    return alert.state is AlertState.ACKNOWLEDGED or alert.acknowledged_by is not None


def alert_view(alert: AlertEvent) -> AlertView:
    return AlertView(**dict(alert), acknowledged=_acknowledged(alert))
