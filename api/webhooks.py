"""Alert webhooks: a region registers a URL; alert lifecycle events for its scopes are POSTed.

Delivery, per attempt::

    POST <url>
    Content-Type: application/json
    X-Capmon-Timestamp: <unix seconds>
    X-Capmon-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
    X-Capmon-Delivery: <alert_id>:<sequence>
    X-Capmon-Attempt: <n>

    <the AlertEvent JSON>

The secret of an endpoint is derived (HMAC of the server's ``webhook_secret`` and the
endpoint id), shown once at registration and never stored. A receiver should check the
signature and reject timestamps older than a few minutes (replay).

Retries: any answer other than 2xx, or a network error, is retried with exponential
backoff (``base_delay_s * 2**(n-1)``, capped) up to ``max_attempts``; every attempt is a
row in ``api_webhook_attempts``. Each endpoint has its own queue and worker task, so a
slow or failing endpoint only delays itself. With several API replicas, whichever first
inserts the ``api_webhook_claims`` row for (endpoint, alert, sequence) delivers it.
Only changes seen after the initial read of the alerts topic are delivered: a restart
does not resend history.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import AnyHttpUrl, BaseModel, Field, SecretStr, field_validator

from api.live_state import Change
from api.metrics import ApiMetrics
from schemas.messages import AlertEvent
from schemas.types import RegionCode

log = logging.getLogger(__name__)


class WebhookCreate(BaseModel):
    region_code: RegionCode | None = Field(
        default=None,
        description="Region whose alerts to deliver; null for every alert (admin only).",
    )
    url: AnyHttpUrl

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if url.scheme not in ("http", "https"):
            raise ValueError("url must be http or https")
        if len(str(url)) > 2000:
            raise ValueError("url too long")
        return url


class WebhookView(BaseModel):
    webhook_id: int
    region_code: str | None
    url: str
    created_by: str
    created_at: datetime
    active: bool


class WebhookCreated(WebhookView):
    secret: str = Field(description="Signing secret; shown only in this response.")


class WebhookList(BaseModel):
    webhooks: list[WebhookView]


class WebhookAttemptView(BaseModel):
    attempt_id: int
    alert_id: str
    sequence: int
    attempt: int
    attempted_at: datetime
    outcome: str = Field(description="delivered | http_error | network_error")
    status_code: int | None
    error: str | None
    duration_ms: float


class WebhookAttempts(BaseModel):
    webhook_id: int
    attempts: list[WebhookAttemptView]


def endpoint_secret(server_secret: SecretStr, webhook_id: int) -> str:
    key = server_secret.get_secret_value().encode()
    return hmac.new(key, f"capmon-webhook:{webhook_id}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def backoff_delay(attempt: int, base_delay_s: float, max_delay_s: float) -> float:
    """Delay before attempt ``attempt + 1`` (attempt counts from 1)."""
    return float(min(max_delay_s, base_delay_s * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class Endpoint:
    webhook_id: int
    region_code: str | None
    url: str


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    timeout_s: float = 5.0
    queue_size: int = 1000
    refresh_interval_s: float = 10.0


class WebhookRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def create(self, region_code: str | None, url: str, created_by: str) -> WebhookView:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "INSERT INTO api_webhooks (region_code, url, created_by) VALUES (%s, %s, %s)"
                " RETURNING webhook_id, region_code, url, created_by, created_at, active",
                (region_code, url, created_by),
            )
            row = await cur.fetchone()
        assert row is not None
        return WebhookView(**row)

    async def list_webhooks(
        self, region_code: str | None = None, *, all_regions: bool
    ) -> list[WebhookView]:
        query = (
            "SELECT webhook_id, region_code, url, created_by, created_at, active"
            " FROM api_webhooks WHERE active"
        )
        params: tuple[Any, ...] = ()
        if not all_regions:
            query += " AND region_code = %s"
            params = (region_code,)
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute((query + " ORDER BY webhook_id").encode(), params)
            rows = await cur.fetchall()
        return [WebhookView(**row) for row in rows]

    async def get(self, webhook_id: int) -> WebhookView | None:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT webhook_id, region_code, url, created_by, created_at, active"
                " FROM api_webhooks WHERE webhook_id = %s AND active",
                (webhook_id,),
            )
            row = await cur.fetchone()
        return WebhookView(**row) if row is not None else None

    async def deactivate(self, webhook_id: int) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE api_webhooks SET active = false WHERE webhook_id = %s AND active",
                (webhook_id,),
            )
        return cur.rowcount == 1

    async def active_endpoints(self) -> list[Endpoint]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT webhook_id, region_code, url FROM api_webhooks WHERE active"
            )
            rows = await cur.fetchall()
        return [Endpoint(int(r[0]), r[1], str(r[2])) for r in rows]

    async def claim(self, webhook_id: int, alert_id: str, sequence: int) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO api_webhook_claims (webhook_id, alert_id, sequence)"
                " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (webhook_id, alert_id, sequence),
            )
        return cur.rowcount == 1

    async def finish(self, webhook_id: int, alert_id: str, sequence: int, outcome: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE api_webhook_claims SET outcome = %s"
                " WHERE webhook_id = %s AND alert_id = %s AND sequence = %s",
                (outcome, webhook_id, alert_id, sequence),
            )

    async def record_attempt(
        self,
        *,
        webhook_id: int,
        alert_id: str,
        sequence: int,
        attempt: int,
        attempted_at: datetime,
        outcome: str,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
    ) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO api_webhook_attempts (webhook_id, alert_id, sequence, attempt,"
                " attempted_at, outcome, status_code, error, duration_ms)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    webhook_id,
                    alert_id,
                    sequence,
                    attempt,
                    attempted_at,
                    outcome,
                    status_code,
                    error,
                    duration_ms,
                ),
            )

    async def attempts(self, webhook_id: int, limit: int) -> list[WebhookAttemptView]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT attempt_id, alert_id::text AS alert_id, sequence, attempt, attempted_at,"
                " outcome, status_code, error, duration_ms FROM api_webhook_attempts"
                " WHERE webhook_id = %s ORDER BY attempt_id DESC LIMIT %s",
                (webhook_id, limit),
            )
            rows = await cur.fetchall()
        return [WebhookAttemptView(**row) for row in rows]


@dataclass(frozen=True, slots=True)
class _Delivery:
    alert_id: str
    sequence: int
    body: bytes


class _EndpointWorker:
    def __init__(self, dispatcher: WebhookDispatcher, endpoint: Endpoint) -> None:
        self.dispatcher = dispatcher
        self.endpoint = endpoint
        self.queue: asyncio.Queue[_Delivery] = asyncio.Queue(dispatcher.options.queue_size)
        self.task = asyncio.create_task(self._run(), name=f"webhook-{endpoint.webhook_id}")

    def offer(self, delivery: _Delivery) -> None:
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.dispatcher.metrics.webhook_deliveries.labels("dropped_queue_full").inc()
            log.warning("webhook %s: queue full, dropping", self.endpoint.webhook_id)

    async def _run(self) -> None:
        while True:
            delivery = await self.queue.get()
            try:
                await self._deliver(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook %s: delivery failed", self.endpoint.webhook_id)

    async def _deliver(self, delivery: _Delivery) -> None:
        d = self.dispatcher
        options = d.options
        webhook_id = self.endpoint.webhook_id
        if not await d.repository.claim(webhook_id, delivery.alert_id, delivery.sequence):
            return  # another replica has it
        secret = endpoint_secret(d.server_secret, webhook_id)
        for attempt in range(1, options.max_attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Capmon-Timestamp": timestamp,
                "X-Capmon-Signature": signature(secret, timestamp, delivery.body),
                "X-Capmon-Delivery": f"{delivery.alert_id}:{delivery.sequence}",
                "X-Capmon-Attempt": str(attempt),
                "User-Agent": "capmon-webhooks/1",
            }
            attempted_at = datetime.now(UTC)
            started = time.perf_counter()
            status_code: int | None = None
            error: str | None = None
            try:
                response = await d.client.post(
                    self.endpoint.url, content=delivery.body, headers=headers
                )
                status_code = response.status_code
                outcome = "delivered" if 200 <= status_code < 300 else "http_error"
            except httpx.HTTPError as exc:
                outcome = "network_error"
                error = f"{type(exc).__name__}: {exc}"[:500]
            duration_ms = (time.perf_counter() - started) * 1000
            d.metrics.webhook_deliveries.labels(outcome).inc()
            await d.repository.record_attempt(
                webhook_id=webhook_id,
                alert_id=delivery.alert_id,
                sequence=delivery.sequence,
                attempt=attempt,
                attempted_at=attempted_at,
                outcome=outcome,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
            if outcome == "delivered":
                await d.repository.finish(
                    webhook_id, delivery.alert_id, delivery.sequence, "delivered"
                )
                return
            if attempt < options.max_attempts:
                await asyncio.sleep(
                    backoff_delay(attempt, options.base_delay_s, options.max_delay_s)
                )
        d.metrics.webhook_deliveries.labels("gave_up").inc()
        await d.repository.finish(webhook_id, delivery.alert_id, delivery.sequence, "gave_up")


class WebhookDispatcher:
    """Routes alert changes from the live state to one worker per active endpoint."""

    def __init__(
        self,
        repository: WebhookRepository,
        server_secret: SecretStr,
        metrics: ApiMetrics,
        options: WebhookOptions | None = None,
    ) -> None:
        self.repository = repository
        self.server_secret = server_secret
        self.metrics = metrics
        self.options = options or WebhookOptions()
        self.client = httpx.AsyncClient(timeout=self.options.timeout_s, follow_redirects=False)
        self.enabled = False
        self._workers: dict[int, _EndpointWorker] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_now = asyncio.Event()

    def start(self) -> None:
        self._refresh_task = asyncio.create_task(self._refresh_loop(), name="webhook-refresh")

    def enable(self) -> None:
        """From now on alert changes are live, not the replay of the initial read."""
        self.enabled = True

    @property
    def endpoint_ids(self) -> set[int]:
        """Endpoints with a running worker (each has its own queue)."""
        return set(self._workers)

    def request_refresh(self) -> None:
        self._refresh_now.set()

    async def refresh(self) -> None:
        endpoints = {e.webhook_id: e for e in await self.repository.active_endpoints()}
        for webhook_id in list(self._workers):
            current = endpoints.get(webhook_id)
            if current is None or current != self._workers[webhook_id].endpoint:
                worker = self._workers.pop(webhook_id)
                worker.task.cancel()
        for webhook_id, endpoint in endpoints.items():
            if webhook_id not in self._workers:
                self._workers[webhook_id] = _EndpointWorker(self, endpoint)

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("webhook endpoints not refreshed: %s", exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.refresh_interval_s):
                    await self._refresh_now.wait()
            self._refresh_now.clear()

    def on_change(self, change: Change) -> None:
        if not self.enabled or change.entry is None:
            return
        alert = change.entry.message
        if not isinstance(alert, AlertEvent):
            return
        delivery = _Delivery(str(alert.alert_id), alert.sequence, change.entry.json.encode())
        for worker in self._workers.values():
            region = worker.endpoint.region_code
            if region is None or region == alert.region_code:
                worker.offer(delivery)

    async def stop(self) -> None:
        tasks = [w.task for w in self._workers.values()]
        if self._refresh_task is not None:
            tasks.append(self._refresh_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        await self.client.aclose()
