"""A small WebSocket test client that collects every frame in the background."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.fixtures.waiting import wait_for_async


@dataclass
class Received:
    frame: dict[str, Any]
    at: float  # time.monotonic() on receipt


@dataclass
class Collector:
    connection: ClientConnection
    frames: list[Received] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        try:
            async for message in self.connection:
                self.frames.append(Received(orjson.loads(message), time.monotonic()))
        except Exception:  # connection closed abnormally: recorded via `closed`
            pass
        finally:
            self.closed.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def subscribe(self, *scopes: str) -> None:
        await self.send({"op": "subscribe", "scopes": list(scopes)})

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r.frame for r in self.frames if r.frame.get("type") == kind]

    def updates(self) -> list[dict[str, Any]]:
        return self.of_type("update")

    async def wait(
        self, predicate: Callable[[Collector], Any], *, within: float = 15.0, what: str
    ) -> Any:
        return await wait_for_async(lambda: predicate(self), timeout=within, what=what)


@contextlib.asynccontextmanager
async def ws_client(
    base_url: str, token: str | None, *, read: bool = True, max_queue: int | None = 16
) -> AsyncIterator[Collector]:
    """Connects to ``/ws`` (with ``?token=`` when given). ``read=False`` reads nothing at
    all, like a stalled client: the library stops reading the socket once its queue is full."""
    url = base_url.replace("http://", "ws://") + "/ws"
    if token is not None:
        url += f"?token={token}"
    async with connect(url, max_queue=max_queue, open_timeout=15) as connection:
        collector = Collector(connection)
        task = asyncio.create_task(collector.run()) if read else None
        try:
            yield collector
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
