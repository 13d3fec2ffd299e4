"""The app factory and ``capmon api``.

``create_app(settings)`` wires everything; the lifespan starts and stops the topic reader,
the Kafka producer, the database pool (and the API's tables) and the webhook dispatcher.
Nothing in startup waits for Kafka or PostgreSQL: each part retries by itself and
``/readyz`` says when all is there.

    capmon api [--host 127.0.0.1] [--port 8000] [--log-level info]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import BEARER_SCHEME, TokenLookup, TokenStore
from api.db import apply_api_schema, create_pool
from api.errors import ApiError, api_error_handler, http_error_handler
from api.history import HistoryStore, NoHistory, StoreHistory
from api.live_state import LiveState
from api.metrics import CONTENT_TYPE_LATEST, ApiMetrics
from api.producer import KafkaPublisher
from api.routes import router
from api.services import Publisher, Services
from api.topic_reader import TopicReader
from api.webhooks import WebhookDispatcher, WebhookOptions, WebhookRepository
from api.ws_hub import WsHub
from capmon.settings import REPO_ROOT, Settings, get_settings
from schemas.events import Event, EventBatch
from schemas.reference import ReferenceData, load_reference
from schemas.targets import TargetConfig, load_targets

log = logging.getLogger(__name__)

UI_DIR = REPO_ROOT / "ui"
API_VERSION = "1"


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    kafka: bool
    database: bool
    caught_up: bool
    detail: dict[str, str]


def _reference_lookups(reference: ReferenceData) -> tuple[Any, Any]:
    def region_of_hospital(hospital_id: str) -> str | None:
        hospital = reference.hospitals.get(hospital_id)
        return hospital.region_code if hospital is not None else None

    def region_of_ward(ward_id: str) -> str | None:
        ward = reference.wards.get(ward_id)
        return region_of_hospital(ward.hospital_id) if ward is not None else None

    return region_of_hospital, region_of_ward


def create_app(
    settings: Settings,
    *,
    reference: ReferenceData | None = None,
    targets: TargetConfig | None = None,
    tokens: TokenLookup | None = None,
    publisher: Publisher | None = None,
    history: HistoryStore | None = None,
    use_kafka: bool = True,
    use_database: bool = True,
    webhook_options: WebhookOptions | None = None,
    ui_dir: Path = UI_DIR,
) -> FastAPI:
    """The app. Anything passed in replaces the real part (tests); ``use_kafka=False``
    runs without the topic reader (the live state is then fed by the caller) and
    ``use_database=False`` without the pool (tokens must then be given)."""
    reference = reference if reference is not None else load_reference(settings.reference_dir)
    targets = targets if targets is not None else load_targets(settings.targets_file)
    metrics = ApiMetrics()
    region_of_hospital, region_of_ward = _reference_lookups(reference)
    live = LiveState(region_of_hospital=region_of_hospital, region_of_ward=region_of_ward)

    pool = create_pool(settings) if use_database else None
    token_lookup: TokenLookup
    if tokens is not None:
        token_lookup = tokens
    elif pool is not None:
        token_lookup = TokenStore(pool, settings.token_pepper)
    else:
        raise ValueError("without a database, tokens must be given")
    if history is None:
        history = _store_history(pool)
    hub = WsHub(
        live,
        metrics,
        token_lookup.lookup,
        queue_limit=settings.ws_queue_limit,
    )
    webhook_repository = WebhookRepository(pool) if pool is not None else None
    dispatcher = (
        WebhookDispatcher(webhook_repository, settings.webhook_secret, metrics, webhook_options)
        if webhook_repository is not None
        else None
    )
    if dispatcher is not None:
        live.add_listener(dispatcher.on_change)
    services = Services(
        settings=settings,
        metrics=metrics,
        live=live,
        reference=reference,
        targets=targets,
        tokens=token_lookup,
        hub=hub,
        publisher=publisher if publisher is not None else KafkaPublisher(settings),
        history=history,
        reader=TopicReader(settings, live, metrics) if use_kafka else None,
        pool=pool,
        webhook_repository=webhook_repository,
        webhooks=dispatcher,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        background: list[asyncio.Task[None]] = []
        if pool is not None:
            await pool.open(wait=False)
            background.append(asyncio.create_task(_prepare_database(services)))
        if services.reader is not None:
            services.reader.start()
            background.append(asyncio.create_task(_enable_webhooks_when_caught_up(services)))
        elif dispatcher is not None:
            dispatcher.enable()
        if dispatcher is not None:
            dispatcher.start()
        try:
            yield
        finally:
            await hub.close_all()
            hub.close()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if services.reader is not None:
                await services.reader.stop()
            if dispatcher is not None:
                await dispatcher.stop()
            await services.publisher.stop()
            if pool is not None:
                await pool.close()

    app = FastAPI(
        title="capmon API",
        version=API_VERSION,
        summary="Live hospital bed capacity in Sweden: state, free beds, history, ingest.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.include_router(router)
    _add_operational_routes(app, services)
    _add_ui_routes(app, ui_dir)

    @app.websocket("/ws")
    async def websocket_endpoint(websocket: WebSocket) -> None:
        await hub.handle(websocket)

    _document_ingest_body(app)
    return app


def _store_history(pool: AsyncConnectionPool | None) -> HistoryStore:
    return NoHistory() if pool is None else StoreHistory(pool)


async def _prepare_database(services: Services) -> None:
    """Create the API's tables, retrying until the database is there."""
    assert services.pool is not None
    delay = 0.5
    while True:
        try:
            async with services.pool.connection(timeout=10.0) as conn:
                await apply_api_schema(conn)
            services.schema_ready = True
            services.notes.pop("database", None)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            services.notes["database"] = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("API tables not ready: %s; retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _enable_webhooks_when_caught_up(services: Services) -> None:
    assert services.reader is not None
    await services.reader.caught_up.wait()
    if services.webhooks is not None:
        services.webhooks.enable()


async def _database_ok(services: Services) -> bool:
    if services.pool is None:
        return True
    if not services.schema_ready:
        return False
    try:
        async with asyncio.timeout(2.0), services.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:
        services.notes["database"] = f"{type(exc).__name__}: {exc}"[:300]
        return False
    services.notes.pop("database", None)
    return True


def _add_operational_routes(app: FastAPI, services: Services) -> None:
    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready"}},
        tags=["operations"],
    )
    async def readyz() -> Readiness | JSONResponse:
        reader = services.reader
        kafka = reader is None or reader.connected
        caught_up = reader is None or reader.caught_up.is_set()
        database = await _database_ok(services)
        detail = dict(services.notes)
        if reader is not None and reader.last_error:
            detail["kafka"] = reader.last_error
        readiness = Readiness(
            ready=kafka and caught_up and database,
            kafka=kafka,
            database=database,
            caught_up=caught_up,
            detail=detail,
        )
        if not readiness.ready:
            return JSONResponse(readiness.model_dump(), status_code=503)
        return readiness

    @app.get(
        "/metrics",
        response_class=Response,
        tags=["operations"],
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus"}},
    )
    async def metrics() -> Response:
        return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _add_ui_routes(app: FastAPI, ui_dir: Path) -> None:
    def page(name: str) -> Response:
        path = ui_dir / name
        if not path.is_file():
            return JSONResponse({"error": "not_found", "detail": f"{name} missing"}, 404)
        return FileResponse(path, media_type="text/html")

    @app.get("/", include_in_schema=False)
    async def wall() -> Response:
        return page("index.html")

    @app.get("/region/{code}", include_in_schema=False)
    async def region_page(code: str) -> Response:
        return page("region.html")

    @app.get("/search", include_in_schema=False)
    async def search_page() -> Response:
        return page("search.html")

    app.mount("/ui", StaticFiles(directory=ui_dir, check_dir=False), name="ui")


def _document_ingest_body(app: FastAPI) -> None:
    """The ingest route reads its body raw (to bound it and to validate it with the
    stream's code), so its schema is added to OpenAPI by hand: one event or a batch."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        body_schema = TypeAdapter(Event | EventBatch).json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in body_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["IngestBody"] = body_schema
        schema["components"]["securitySchemes"] = {
            BEARER_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "A capmon API token (`capmon token create`).",
            }
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/api/"):
                for operation in operations.values():
                    operation["security"] = [{BEARER_SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="capmon api", description="HTTP/WebSocket API and UI")
    settings = get_settings()
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        ws_max_size=64 * 1024,
        # Compressing each frame per client (zlib state per connection) cost a quarter of
        # the fan-out CPU and most of the memory at 2,000 clients; JSON frames of ~1 KB
        # are not worth it.
        ws_per_message_deflate=False,
        proxy_headers=True,
    )
    return 0
