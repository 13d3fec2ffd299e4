"""Run an app under a real uvicorn server in the test's own event loop, on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from tests.fixtures.waiting import wait_for_async


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(
    app: FastAPI,
    *,
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    startup_timeout: float = 30.0,
) -> AsyncIterator[str]:
    """Yields the base URL (``http://127.0.0.1:<port>``); the server stops on exit."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_ping_interval=ping_interval,
        ws_ping_timeout=ping_timeout,
        lifespan="on",
        ws_per_message_deflate=False,  # as `capmon api` runs
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for_async(
            lambda: server.started or task.done(), timeout=startup_timeout, what="uvicorn start"
        )
        if task.done():
            task.result()  # raises the startup error
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)
