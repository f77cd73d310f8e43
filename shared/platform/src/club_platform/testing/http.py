"""Serve a FastAPI app over real HTTP on a free loopback port, inside the test's event loop,
so a test can still reach into the app (its clock, its runtime) while talking HTTP to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def serve_app(app: FastAPI) -> AsyncIterator[str]:
    """Run `app` (its lifespan included) on 127.0.0.1 and yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", access_log=False, timeout_keep_alive=75)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("the app stopped during startup")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def client(base_url: str, token: str | None = None, **kwargs) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, **kwargs)
