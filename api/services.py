"""Everything one app instance holds, in one object on ``app.state.services``.

Routes reach it through the ``ServicesDep`` dependency; tests build an app with any part
swapped (tokens in memory, a fake publisher, a fake history store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from api.auth import TokenLookup
from api.history import HistoryStore
from api.live_state import LiveState
from api.metrics import ApiMetrics
from api.topic_reader import TopicReader
from api.webhooks import WebhookDispatcher, WebhookRepository
from api.ws_hub import WsHub
from capmon.settings import Settings
from schemas.reference import ReferenceData
from schemas.targets import TargetConfig


class Publisher(Protocol):
    async def publish_event_batch(self, hospital_id: str, value: bytes) -> None: ...
    async def publish_alert(self, alert_id: str, value: bytes) -> None: ...
    async def stop(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    metrics: ApiMetrics
    live: LiveState
    reference: ReferenceData
    targets: TargetConfig
    tokens: TokenLookup
    hub: WsHub
    publisher: Publisher
    history: HistoryStore
    reader: TopicReader | None = None
    pool: AsyncConnectionPool | None = None
    webhook_repository: WebhookRepository | None = None
    webhooks: WebhookDispatcher | None = None
    clock: Callable[[], datetime] = utc_now
    schema_ready: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    def set_reference(self, reference: ReferenceData) -> None:
        """Swap in new reference data (a ward registered at run time)."""
        self.reference = reference


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, a
    # thread hop per request that cost more than the whole free-capacity search.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
