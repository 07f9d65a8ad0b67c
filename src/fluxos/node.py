"""The composition root: builds every service of a node from its settings and runs them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import uvicorn

from fluxos.api.permissions import Authorizer, DenyAllAuthorizer
from fluxos.clock import Clock, SystemClock
from fluxos.config import Settings
from fluxos.jsonrpc import JsonRpcClient
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.nodestate import NodeState
from fluxos.system.hostinfo import HostInfo

log = logging.getLogger(__name__)

BENCH_RPC_PORT = 16224
BENCH_RPC_USER = "fluxbenchuser"
BENCH_RPC_PASSWORD = "fluxbenchpassword"  # noqa: S105 - fluxbenchd's fixed, public credentials
SHUTDOWN_SECONDS = 5.0

BackgroundLoop = Callable[[], Awaitable[None]]


class Node:
    """One Flux node: its settings, services and background loops.

    Build it, then `async with node.running():` to open storage and start the loops; the
    API application (`fluxos.api.app.create_app`) does that in its lifespan.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.host = HostInfo(self.clock)
        self.database = Database(settings.database, ALL_AREAS)
        self.state = NodeState(self.database)
        self.authorizer: Authorizer = authorizer or DenyAllAuthorizer()
        self.bench_rpc = JsonRpcClient(
            f"http://127.0.0.1:{BENCH_RPC_PORT}/", BENCH_RPC_USER, BENCH_RPC_PASSWORD, timeout=10
        )
        self._loops: list[tuple[str, BackgroundLoop]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add_background(self, name: str, loop: BackgroundLoop) -> None:
        """Register a long-running coroutine to start with the node and stop with it."""
        self._loops.append((name, loop))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Node]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await self.database.open()
        for name, loop in self._loops:
            self._tasks.append(asyncio.create_task(self._supervise(name, loop), name=name))
        log.info(
            "node started: data dir %s, api port %d", self.settings.data_dir, self.settings.apiport
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=SHUTDOWN_SECONDS)
        self._tasks.clear()
        await self.bench_rpc.aclose()
        await self.database.close()
        log.info("node stopped")

    async def _supervise(self, name: str, loop: BackgroundLoop) -> None:
        """Run a loop; if it fails, log why and restart it after a pause."""
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s failed; restarting it in 5 s", name)
                await asyncio.sleep(5)


def serve(settings: Settings) -> None:
    """Run a node and its API until SIGINT/SIGTERM (blocking)."""
    from fluxos.api.app import create_app

    node = Node(settings)
    config = uvicorn.Config(
        create_app(node),
        host=settings.host,
        port=settings.apiport,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(f"fluxos: could not serve on {settings.host}:{settings.apiport}")
