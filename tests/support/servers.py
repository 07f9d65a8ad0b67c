"""Small ASGI apps served for real on a loopback port, in a background thread.

Tests use them for the internet services a node talks to (Flux's stats and GitHub files,
a registry's token service): a real HTTP server on 127.0.0.1, never a patched client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn

from tests.support.processes import free_port


@contextmanager
def serving(app: Any, host: str = "127.0.0.1", *, lifespan: bool = False) -> Iterator[str]:
    """Serve `app` on a free port of `host`; yields its base URL (no trailing slash).

    With `lifespan` the app's startup and shutdown run (a node's app starts the node).
    """
    port = free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on" if lifespan else "off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"test server on {host}:{port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@asynccontextmanager
async def serving_on_this_loop(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` on a free port from the running event loop (an app whose handlers use
    objects of the test's loop); yields its base URL (no trailing slash)."""
    port = free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    async with serving_config_on_this_loop(config) as url:
        yield url


@asynccontextmanager
async def serving_config_on_this_loop(config: uvicorn.Config) -> AsyncIterator[str]:
    """Serve as `config` says (its host and port) from the running event loop; yields the
    base URL (no trailing slash) once the server listens, and stops it on the way out."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"test server on {config.host}:{config.port} stopped early")
            await asyncio.sleep(0.01)
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        await task
