"""Fixtures of the API tests: an app without Kafka or a database (tokens in memory, a
recording publisher, a canned history store), and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime

import httpx
import pytest
from fastapi import FastAPI

from api.auth import StaticTokens
from api.history import AlertView, Bucket, ComplianceRow, DailyPoint, HistoryPoint, Period
from api.roles import Principal, Role
from api.server import create_app
from api.services import Services
from capmon.settings import Settings
from tests.api import factories as f

ROLE_TOKENS = {
    "national": "tok-national",
    "admin": "tok-admin",
    "region:01": "tok-region-01",
    "referral": "tok-referral",
    f"publisher:{f.KAROLINSKA}": "tok-publisher",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ROLE_TOKENS[role]}"}


@dataclass
class RecordingPublisher:
    events: list[tuple[str, bytes]] = field(default_factory=list)
    alerts: list[tuple[str, bytes]] = field(default_factory=list)
    fail: bool = False

    async def publish_event_batch(self, hospital_id: str, value: bytes) -> None:
        if self.fail:
            raise ConnectionError("kafka down")
        self.events.append((hospital_id, value))

    async def publish_alert(self, alert_id: str, value: bytes) -> None:
        if self.fail:
            raise ConnectionError("kafka down")
        self.alerts.append((alert_id, value))

    async def stop(self) -> None:
        return None


class CannedHistory:
    async def history(
        self, scope_id: str, care_type: str, start: datetime, end: datetime, bucket: Bucket
    ) -> list[HistoryPoint]:
        return [
            HistoryPoint(
                t=start,
                occupancy=0.9,
                available_beds=10,
                occupied=9,
                overcrowded=0,
                outlying_hosted=0,
                ward_count=1,
                coverage=1.0,
            )
        ]

    async def alert_history(
        self, *, region_code: str | None, start: datetime | None, end: datetime | None, limit: int
    ) -> list[AlertView]:
        return []

    async def compliance(
        self, period: Period, start: date, end: date, region_code: str | None
    ) -> list[ComplianceRow]:
        return [
            ComplianceRow(
                scope_id=scope_id,
                care_type="all",
                period_start=start,
                above_target_seconds=0.0,
                covered_seconds=3600.0,
                share_above_target=0.0,
            )
            for scope_id in ("nation", "region:01", "region:03", f"hospital:{f.AKADEMISKA}")
        ]

    async def daily(
        self, scope_id: str, care_type: str, start: date, end: date
    ) -> list[DailyPoint]:
        return []


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def app(publisher: RecordingPublisher) -> FastAPI:
    tokens = StaticTokens(
        {token: Principal(role, Role.parse(role)) for role, token in ROLE_TOKENS.items()}
    )
    return create_app(
        Settings(environment="test", ingest_max_events=50, ingest_max_bytes=20_000),
        reference=f.reference(),
        targets=f.targets(),
        tokens=tokens,
        publisher=publisher,
        history=CannedHistory(),
        use_kafka=False,
        use_database=False,
    )


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    services.clock = lambda: f.NOW
    return services


@pytest.fixture
async def client(app: FastAPI, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://capmon.test") as c:
        yield c
