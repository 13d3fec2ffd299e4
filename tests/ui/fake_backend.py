"""A small stand-in for capmon's API, for browser tests until the real stack serves the UI.

It speaks the plan's API contract: pages and static files under /ui/, the REST endpoints
the UI calls, and /ws with version 1 messages (snapshot, then updates). Tests push messages
with ``FakeBackend.push`` and can stop and restart the server on the same port to test the
connection indicator. It runs uvicorn in a thread so the synchronous Playwright API can
drive the browser from the test itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fixtures.waiting import wait_for
from tests.ui.fake_data import FakeWorld, Message, history_points

UI_DIR = Path(__file__).resolve().parents[2] / "ui"
TOKEN = "test-token"


@dataclass
class Client:
    ws: WebSocket
    scopes: set[str] = field(default_factory=set)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeBackend:
    """Canned REST + a WebSocket hub whose pushes the test controls."""

    def __init__(self, world: FakeWorld, *, role: str = "national") -> None:
        self.world = world
        self.role = role
        self.port = free_port()
        self.clients: list[Client] = []
        # Every subscribe op received, in order: lets tests see resubscription after reconnects.
        self.subscribe_log: list[list[str]] = []
        self.acks: list[str] = []
        self.connections = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="websockets-sansio",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(server.serve())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"fake-backend-{self.port}", daemon=True)
        self._thread.start()
        wait_for(lambda: server.started, timeout=10, what="fake backend to start")

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        loop = self._loop
        if loop is not None and self.clients:
            # Close the sockets the way a dying server would, so the browser sees the loss now.
            fut = asyncio.run_coroutine_threadsafe(self._close_all(), loop)
            with contextlib.suppress(Exception):
                fut.result(timeout=5)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        self._loop = None
        self.clients.clear()

    async def _close_all(self) -> None:
        for c in list(self.clients):
            with contextlib.suppress(Exception):
                await c.ws.close(code=1012)

    # ------------------------------------------------------------------ pushing

    def push(self, msg: Message) -> None:
        """Store a message and send it as an update to every client subscribed to it."""
        key = self.world.put(msg)
        loop = self._loop
        if loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._broadcast(key, msg), loop)
        fut.result(timeout=5)

    async def _broadcast(self, key: str, msg: Message) -> None:
        text = json.dumps({"v": 1, "type": "update", "key": key, "data": msg})
        for c in list(self.clients):
            if any(self._matches(scope, msg) for scope in c.scopes):
                with contextlib.suppress(Exception):
                    await c.ws.send_text(text)

    def _matches(self, scope: str, msg: Message) -> bool:
        kind = str(msg["kind"])
        scope_id = str(msg.get("scope_id", ""))
        if scope == "alerts":
            return bool(kind == "alert")
        if kind == "alert":
            return False
        if scope == "nation":
            return kind == "rollup" and (scope_id == "nation" or scope_id.startswith("region:"))
        if scope.startswith("region:"):
            code = scope[7:]
            if kind == "ward_state":
                return bool(msg["region_code"] == code)
            return msg["scope_id"] == scope or (
                self.world.region_of_scope(msg["scope_id"]) == code
                and msg["scope_id"].startswith("hospital:")
            )
        if scope.startswith("hospital:"):
            hid = scope[9:]
            return msg.get("hospital_id") == hid or msg.get("scope_id") == scope
        if scope.startswith("ward:"):
            return msg.get("ward_id") == scope[5:]
        return False

    def snapshot(self, scope: str) -> list[Message]:
        everything = [
            *self.world.rollups.values(),
            *self.world.ward_states.values(),
            *self.world.alerts.values(),
        ]
        return [m for m in everything if self._matches(scope, m)]

    # ------------------------------------------------------------------ the app

    def app(self) -> Starlette:
        def authorized(request: Request) -> bool:
            return request.headers.get("authorization") == f"Bearer {TOKEN}"

        def unauthorized() -> JSONResponse:
            return JSONResponse({"detail": "missing or invalid bearer token"}, status_code=401)

        def page(name: str) -> Any:
            async def endpoint(request: Request) -> Response:
                return FileResponse(UI_DIR / name, headers={"Cache-Control": "no-store"})

            return endpoint

        async def state(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            scope = request.path_params["scope_id"]
            rollups = [m for m in self.world.rollups.values() if m["scope_id"] == scope]
            if scope == "nation":
                children = [
                    m
                    for m in self.world.rollups.values()
                    if m["scope_id"].startswith("region:") and m["care_type"] == "all"
                ]
            elif scope.startswith("region:"):
                children = [
                    m
                    for m in self.world.rollups.values()
                    if m["scope_id"].startswith("hospital:")
                    and self.world.region_of_scope(m["scope_id"]) == scope[7:]
                ]
            else:
                children = [
                    m
                    for m in self.world.ward_states.values()
                    if f"hospital:{m['hospital_id']}" == scope
                ]
            return JSONResponse({"scope_id": scope, "rollups": rollups, "children": children})

        async def history(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            scope = request.path_params["scope_id"]
            current = self.world.rollups.get(f"{scope}:all")
            occ = (current or {}).get("measures", {}).get("occupancy") or 0.85
            seed = sum(map(ord, scope))
            return JSONResponse(
                {
                    "scope_id": scope,
                    "care_type": request.query_params.get("care_type", "all"),
                    "bucket": request.query_params.get("bucket", "1h"),
                    "points": history_points(occ, datetime.now(UTC), seed=seed),
                }
            )

        async def alerts(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            region = request.query_params.get("region")
            rows = [
                {**a, "acknowledged": a["alert_id"] in self.acks}
                for a in self.world.alerts.values()
                if (region is None or a["region_code"] == region) and a["state"] != "resolved"
            ]
            rows.sort(key=lambda a: a["occurred_at"], reverse=True)
            return JSONResponse({"alerts": rows})

        async def ack(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            if self.role not in ("national", "admin") and not self.role.startswith("region:"):
                return JSONResponse({"detail": "forbidden"}, status_code=403)
            alert_id = request.path_params["alert_id"]
            self.acks.append(alert_id)
            return JSONResponse({"alert_id": alert_id, "acknowledged": True})

        async def whoami(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            return JSONResponse({"role": self.role})

        async def reference(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            kind = request.path_params["kind"]
            if kind == "hospitals":
                return JSONResponse(
                    [
                        {
                            "hospital_id": h.hospital_id,
                            "name": h.name,
                            "region_code": h.region_code,
                            "emergency": True,
                        }
                        for h in self.world.hospitals
                    ]
                )
            if kind == "wards":
                return JSONResponse(
                    [
                        {
                            "ward_id": w.ward_id,
                            "hospital_id": w.hospital_id,
                            "name": w.name,
                            "care_type": w.care_type,
                            "specialty": w.specialty,
                            "physical_beds": w.beds,
                            "typical_available_beds": w.beds,
                            "reporting_interval_s": 300,
                        }
                        for w in self.world.wards
                    ]
                )
            return JSONResponse([])

        async def free_capacity(request: Request) -> Response:
            if not authorized(request):
                return unauthorized()
            q = request.query_params
            now = datetime.now(UTC)
            names = {w.ward_id: w.name for w in self.world.wards}
            hospitals = {h.hospital_id: h.name for h in self.world.hospitals}
            min_free = int(q.get("min_free", "1"))
            max_stale = int(q["max_staleness_s"]) if q.get("max_staleness_s") else None
            rows = []
            for s in self.world.ward_states.values():
                as_of = datetime.fromisoformat(s["as_of"].replace("Z", "+00:00"))
                age = (now - as_of).total_seconds()
                free = s["counts"]["free_beds"]
                if free < min_free:
                    continue
                if q.get("region") and s["region_code"] != q["region"]:
                    continue
                if q.get("hospital") and s["hospital_id"] != q["hospital"]:
                    continue
                if q.get("care_type") and s["care_type"] != q["care_type"]:
                    continue
                if q.get("specialty") and s["specialty"] != q["specialty"]:
                    continue
                if max_stale is not None and age > max_stale:
                    continue
                rows.append(
                    {
                        "ward_id": s["ward_id"],
                        "ward_name": names.get(s["ward_id"], s["ward_id"]),
                        "hospital_id": s["hospital_id"],
                        "hospital_name": hospitals.get(s["hospital_id"], ""),
                        "region_code": s["region_code"],
                        "care_type": s["care_type"],
                        "specialty": s["specialty"],
                        "available_beds": s["counts"]["available_beds"],
                        "occupied": s["counts"]["occupied"],
                        "free_beds": free,
                        "free_after_pending": s["measures"]["free_after_pending"],
                        "as_of": s["as_of"],
                        "age_s": round(age, 1),
                        "stale": s["stale"] or age > 330,
                    }
                )
            rows.sort(key=lambda r: -r["free_beds"])
            limit = int(q.get("limit", "50"))
            return JSONResponse({"as_of": now.isoformat(), "rows": rows[:limit]})

        async def ws_endpoint(websocket: WebSocket) -> None:
            if websocket.query_params.get("token") != TOKEN:
                await websocket.close(code=4401)
                return
            await websocket.accept()
            client = Client(websocket)
            self.clients.append(client)
            self.connections += 1
            try:
                while True:
                    msg = json.loads(await websocket.receive_text())
                    scopes = [str(s) for s in msg.get("scopes", [])]
                    if msg.get("op") == "subscribe":
                        self.subscribe_log.append(scopes)
                        client.scopes.update(scopes)
                        for scope in scopes:
                            await websocket.send_text(
                                json.dumps(
                                    {
                                        "v": 1,
                                        "type": "snapshot",
                                        "scope": scope,
                                        "items": self.snapshot(scope),
                                    }
                                )
                            )
                    elif msg.get("op") == "unsubscribe":
                        client.scopes.difference_update(scopes)
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                with contextlib.suppress(ValueError):
                    self.clients.remove(client)

        return Starlette(
            routes=[
                Route("/", page("index.html")),
                Route("/region/{code}", page("region.html")),
                Route("/search", page("search.html")),
                Route("/api/v1/state/{scope_id}", state),
                Route("/api/v1/history/{scope_id}", history),
                Route("/api/v1/alerts", alerts),
                Route("/api/v1/alerts/{alert_id}/ack", ack, methods=["POST"]),
                Route("/api/v1/whoami", whoami),
                Route("/api/v1/reference/{kind}", reference),
                Route("/api/v1/capacity/free", free_capacity),
                WebSocketRoute("/ws", ws_endpoint),
                Mount("/ui", app=StaticFiles(directory=UI_DIR), name="ui"),
            ]
        )


def subscribed_since(backend: FakeBackend, index: int) -> set[str]:
    """Scopes subscribed after the first ``index`` subscribe ops."""
    return {s for op in backend.subscribe_log[index:] for s in op}


def ages_ago(now: datetime, **kw: float) -> datetime:
    return now - timedelta(**kw)
