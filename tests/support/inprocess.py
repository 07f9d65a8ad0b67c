"""A node served by uvicorn inside the test's event loop, for tests that drive its clock.

Same application and HTTP stack as `fluxos start`, on a free loopback address; the test
holds the `Node` (and so its `ManualClock`) directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from fluxos.api.app import create_app
from fluxos.api.server import server_config
from fluxos.node import Node
from tests.support.processes import FLUX_PORT, free_loopback_host

START_TIMEOUT = 30.0


@asynccontextmanager
async def serving(node: Node) -> AsyncIterator[str]:
    """Serve `node` (its lifespan starts and stops it); yields the base URL."""
    host = free_loopback_host()
    config, _guard = server_config(create_app(node), host, FLUX_PORT, loop="asyncio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://{host}:{FLUX_PORT}"
    finally:
        server.should_exit = True
        await task
