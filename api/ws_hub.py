"""WebSocket ``/ws``: authenticated, scoped live push with a latest-per-key buffer per client.

Protocol (message format version 1, JSON text frames):

client -> server
    ``{"op": "auth", "token": "<t>"}``            first message, if no ``?token=`` was given
    ``{"op": "subscribe", "scopes": [...]}``      ``nation``, ``region:XX``, ``hospital:ID``,
                                                  ``ward:ID``, ``alerts``
    ``{"op": "unsubscribe", "scopes": [...]}``
    ``{"op": "ping"}``                            answered with ``{"v":1,"type":"pong"}``
server -> client
    ``{"v":1,"type":"snapshot","scope":S,"items":[<message>...]}``   once per subscribed scope
                                                  (again after a resync), before its updates
    ``{"v":1,"type":"update","key":K,"data":<message>}``   K is the message's topic key;
                                                  ``data.kind`` is ward_state | rollup | alert
    ``{"v":1,"type":"remove","key":K}``           the key was deleted upstream (tombstone)
    ``{"v":1,"type":"error","code":C,"detail":D}``  C: unauthorized, forbidden, invalid_scope,
                                                  bad_request, too_many_subscriptions
    ``{"v":1,"type":"pong"}``

Close codes: 4401 not authenticated, 4408 a frame could not be sent within the send timeout,
1001 server shutting down. Dead peers are closed by the server's protocol-level ping timeout.

Fan-out: every change is rendered to one frame string, once, and the same string object is
offered to each subscribed client's ``LatestPerKeyBuffer``; a sender task per client drains
its buffer, so a client whose socket is full only ever delays itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.channels import Message, Refusal, subscription_channels
from api.client_buffer import LatestPerKeyBuffer, Offer
from api.live_state import Change, Entry, LiveState
from api.metrics import ApiMetrics
from api.roles import Principal

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_SUBSCRIPTIONS = 256
MAX_SNAPSHOT_CACHE_CHARS = 32 * 1024 * 1024
CLOSE_UNAUTHORIZED = 4401
CLOSE_SEND_TIMEOUT = 4408
CLOSE_GOING_AWAY = 1001
# Keys of control frames cannot clash with topic keys (those never start with a NUL).
_SNAPSHOT_KEY = "\x00snapshot:"
_CONTROL_KEY = "\x00control:"

Authenticate = Callable[[str], Awaitable[Principal | None]]


def _json_string(text: str) -> str:
    return orjson.dumps(text).decode()


def update_frame(key: str, json: str) -> str:
    return f'{{"v":1,"type":"update","key":{_json_string(key)},"data":{json}}}'


def remove_frame(key: str) -> str:
    return f'{{"v":1,"type":"remove","key":{_json_string(key)}}}'


def snapshot_frame(scope: str, entries: Iterable[Entry[Message]]) -> str:
    items = ",".join(entry.json for entry in entries)
    return f'{{"v":1,"type":"snapshot","scope":{_json_string(scope)},"items":[{items}]}}'


def error_frame(code: str, detail: str) -> str:
    return orjson.dumps({"v": 1, "type": "error", "code": code, "detail": detail}).decode()


PONG_FRAME = '{"v":1,"type":"pong"}'


def scope_label(scope: str) -> str:
    """Metric label: hospitals and wards by kind only (their ids would explode cardinality)."""
    if scope.startswith(("hospital:", "ward:")):
        return scope.partition(":")[0]
    return scope


class WsClient:
    """One connected, authenticated client: its subscriptions, buffer and sender task."""

    def __init__(self, hub: WsHub, websocket: WebSocket, principal: Principal) -> None:
        self.hub = hub
        self.websocket = websocket
        self.principal = principal
        self.subscriptions: dict[str, tuple[str, ...]] = {}
        self.buffer = LatestPerKeyBuffer(hub.queue_limit)
        self.wake = asyncio.Event()
        self.close_reason: str | None = None
        # when the send in progress started (None: not sending); the hub's watchdog
        # cancels a sender stuck past the send timeout (cheaper than a timeout per send)
        self.sending_since: float | None = None
        self.sender: asyncio.Task[None] | None = None
        self._control_seq = 0

    # called from the hub's change listener: must not await
    def offer(self, key: str, frame: str) -> None:
        result = self.buffer.offer(key, frame)
        if result is Offer.SUPERSEDED:
            self.hub.superseded.inc()
        elif result is Offer.OVERFLOW:
            self.hub.metrics.ws_resyncs.inc()
        self.wake.set()

    def send_control(self, frame: str) -> None:
        self._control_seq += 1
        self.buffer.offer_snapshot(f"{_CONTROL_KEY}{self._control_seq}", frame, ())
        self.wake.set()

    def queue_snapshot(self, scope: str, channels: tuple[str, ...]) -> None:
        frame, keys = self.hub.snapshot(scope, channels)
        self.buffer.offer_snapshot(f"{_SNAPSHOT_KEY}{scope}", frame, keys)
        self.wake.set()

    async def run_sender(self) -> None:
        send = self.websocket.send
        pushed = self.hub.pushed
        clock = time.monotonic
        while True:
            await self.wake.wait()
            self.wake.clear()
            while True:
                if self.buffer.take_resync():
                    for scope, channels in self.subscriptions.items():
                        self.queue_snapshot(scope, channels)
                item = self.buffer.pop()
                if item is None:
                    break
                self.sending_since = clock()
                await send({"type": "websocket.send", "text": item[1]})
                self.sending_since = None
                pushed.inc()


class WsHub:
    """All WebSocket clients of one app instance and the fan-out from the live state."""

    def __init__(
        self,
        live: LiveState,
        metrics: ApiMetrics,
        authenticate: Authenticate,
        *,
        queue_limit: int = 1000,
        send_timeout_s: float = 30.0,
        auth_timeout_s: float = 10.0,
    ) -> None:
        self.live = live
        self.metrics = metrics
        self.authenticate = authenticate
        self.queue_limit = queue_limit
        self.send_timeout_s = send_timeout_s
        self.auth_timeout_s = auth_timeout_s
        self.clients: set[WsClient] = set()
        self._subscribers: dict[str, set[WsClient]] = {}
        # (scope, channels) -> (channel generations, frame, keys): a thousand clients that
        # subscribe to the nation at once share one snapshot string instead of a thousand
        self._snapshots: dict[
            tuple[str, tuple[str, ...]], tuple[tuple[int, ...], str, tuple[str, ...]]
        ] = {}
        self._snapshot_chars = 0
        self._watchdog: asyncio.Task[None] | None = None
        self.superseded: Counter = metrics.ws_dropped_superseded
        self.pushed: Counter = metrics.ws_messages_pushed.labels("frame")
        live.add_listener(self.on_change)

    def close(self) -> None:
        self.live.remove_listener(self.on_change)

    # --- fan-out -------------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        frame: str | None = None
        for channel in change.channels:
            clients = self._subscribers.get(channel)
            if not clients:
                continue
            if frame is None:
                entry = change.entry
                frame = (
                    update_frame(change.key, entry.json)
                    if entry is not None
                    else remove_frame(change.key)
                )
            for client in clients:
                client.offer(change.key, frame)

    def snapshot(self, scope: str, channels: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """The snapshot frame of ``scope`` and the keys it covers, built once per change."""
        cache_key = (scope, channels)
        generations = self.live.generations(channels)
        cached = self._snapshots.get(cache_key)
        if cached is not None and cached[0] == generations:
            return cached[1], cached[2]
        entries = self.live.channel_entries(channels)
        frame = snapshot_frame(scope, entries)
        keys = tuple(entry.key for entry in entries)
        if cached is not None:
            self._snapshot_chars -= len(cached[1])
        if self._snapshot_chars + len(frame) > MAX_SNAPSHOT_CACHE_CHARS:
            self._snapshots.clear()  # bounded; rebuilt on demand
            self._snapshot_chars = 0
        self._snapshots[cache_key] = (generations, frame, keys)
        self._snapshot_chars += len(frame)
        return frame, keys

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    # --- subscriptions -------------------------------------------------------------------

    def subscribe(self, client: WsClient, scopes: list[str]) -> None:
        for scope in scopes:
            if scope in client.subscriptions:
                client.queue_snapshot(scope, client.subscriptions[scope])
                continue
            if len(client.subscriptions) >= MAX_SUBSCRIPTIONS:
                client.send_control(
                    error_frame("too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} scopes")
                )
                return
            resolved = subscription_channels(
                client.principal.role, scope, self.live.region_of_scope
            )
            if isinstance(resolved, Refusal):
                client.send_control(error_frame(resolved.code, resolved.detail))
                continue
            client.subscriptions[scope] = resolved
            for channel in resolved:
                self._subscribers.setdefault(channel, set()).add(client)
            self.metrics.ws_subscriptions.labels(scope_label(scope)).inc()
            # queued in the same step as the registration: no update can slip between
            client.queue_snapshot(scope, resolved)

    def unsubscribe(self, client: WsClient, scopes: Iterable[str]) -> None:
        for scope in scopes:
            channels = client.subscriptions.pop(scope, None)
            if channels is None:
                continue
            self.metrics.ws_subscriptions.labels(scope_label(scope)).dec()
            still_needed = {c for chans in client.subscriptions.values() for c in chans}
            for channel in channels:
                if channel in still_needed:
                    continue
                clients = self._subscribers.get(channel)
                if clients is not None:
                    clients.discard(client)
                    if not clients:
                        del self._subscribers[channel]

    # --- the endpoint --------------------------------------------------------------------

    async def handle(self, websocket: WebSocket) -> None:
        await websocket.accept()
        principal = await self._authenticate(websocket)
        if principal is None:
            return
        client = WsClient(self, websocket, principal)
        self.clients.add(client)
        self.metrics.ws_clients.inc()
        sender = asyncio.create_task(client.run_sender(), name="ws-sender")
        client.sender = sender
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.create_task(self._watch_sends(), name="ws-watchdog")
        receiver = asyncio.create_task(self._receive_loop(client), name="ws-receiver")
        try:
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if not isinstance(exc, WebSocketDisconnect | OSError | RuntimeError):
                        log.error("websocket task failed", exc_info=exc)
        finally:
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.unsubscribe(client, list(client.subscriptions))
            self.clients.discard(client)
            self.metrics.ws_clients.dec()
            client.buffer.clear()
            if client.close_reason == "send_timeout":
                self.metrics.ws_closed.labels("send_timeout").inc()
                await _close_quietly(websocket, CLOSE_SEND_TIMEOUT, "send timeout")
            elif sender.done() and not receiver.done():
                await _close_quietly(websocket, 1011, "internal error")

    async def _watch_sends(self) -> None:
        """Cancel senders stuck in one send past the send timeout (a peer that stopped
        reading but still acknowledges TCP); the protocol-level ping catches dead ones."""
        interval = max(0.05, self.send_timeout_s / 4)
        while self.clients:
            await asyncio.sleep(interval)
            deadline = time.monotonic() - self.send_timeout_s
            for client in list(self.clients):
                since = client.sending_since
                if since is not None and since < deadline and client.sender is not None:
                    client.close_reason = "send_timeout"
                    client.sender.cancel()

    async def _authenticate(self, websocket: WebSocket) -> Principal | None:
        token = websocket.query_params.get("token")
        if not token:
            try:
                async with asyncio.timeout(self.auth_timeout_s):
                    first = await websocket.receive_text()
            except (TimeoutError, WebSocketDisconnect, RuntimeError, KeyError):
                await self._refuse(websocket, "no token given (?token= or an auth message)")
                return None
            request = _parse(first)
            if isinstance(request, dict) and request.get("op") == "auth":
                candidate = request.get("token")
                token = candidate if isinstance(candidate, str) else None
            if not token:
                await self._refuse(websocket, 'first message must be {"op":"auth","token":...}')
                return None
        try:
            principal = await self.authenticate(token)
        except Exception:
            log.exception("token check failed")
            principal = None
        if principal is None:
            await self._refuse(websocket, "unknown or revoked token")
            return None
        return principal

    async def _refuse(self, websocket: WebSocket, detail: str) -> None:
        self.metrics.ws_closed.labels("unauthorized").inc()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.send_text(error_frame("unauthorized", detail))
        await _close_quietly(websocket, CLOSE_UNAUTHORIZED, "unauthorized")

    async def _receive_loop(self, client: WsClient) -> None:
        websocket = client.websocket
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                raw = message.get("bytes")
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
            self._handle_request(client, _parse(text))

    def _handle_request(self, client: WsClient, request: Any) -> None:
        if not isinstance(request, dict):
            client.send_control(error_frame("bad_request", "expected a JSON object"))
            return
        op = request.get("op")
        if op == "ping":
            client.send_control(PONG_FRAME)
            return
        if op == "auth":
            return  # already authenticated: harmless
        if op not in ("subscribe", "unsubscribe"):
            client.send_control(error_frame("bad_request", f"unknown op {str(op)[:40]!r}"))
            return
        scopes = request.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            client.send_control(error_frame("bad_request", "scopes must be a list of strings"))
            return
        if op == "subscribe":
            self.subscribe(client, scopes)
        else:
            self.unsubscribe(client, scopes)

    async def close_all(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for client in list(self.clients):
            await _close_quietly(client.websocket, CLOSE_GOING_AWAY, "server shutting down")


def _parse(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
        async with asyncio.timeout(2.0):
            await websocket.close(code=code, reason=reason)
