"""The home port's server: a small Starlette app on the API's server machinery.

Other nodes probe `GET /health` here (answered `OK`) before counting this node available
(p2p.md §15). It runs on the same uvicorn protocol as the API port, so the same connection
limits apply: idle and header timeouts, the 16 KiB head cap, per-IP and total caps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from fluxos.api.server import ConnectionLimits, server_config

log = logging.getLogger(__name__)


async def _health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("OK")


async def _not_found(_request: Request, _error: Exception) -> PlainTextResponse:
    return PlainTextResponse("Not Found", status_code=404)


def home_app() -> Starlette:
    """`GET`/`HEAD /health` → `OK`; anything else 404 (405 for other methods there)."""
    return Starlette(
        routes=[Route("/health", _health, methods=["GET", "HEAD"])],
        exception_handlers={404: _not_found},
    )


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server run as one task of a running node: the node owns the signals, and
    cancelling the task closes the listening socket and the open connections."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def run_until_cancelled(self) -> None:
        try:
            await self.serve()
        except asyncio.CancelledError:
            self.should_exit = self.force_exit = True
            if self.started:
                await self.shutdown()
            raise
        if not self.started:
            host, port = self.config.host, self.config.port
            raise OSError(f"could not serve on {host}:{port}")


class HomeServer:
    """The home port: `run()` serves until cancelled (a supervised loop)."""

    def __init__(self, host: str, port: int, limits: ConnectionLimits | None = None) -> None:
        self.host = host
        self.port = port
        self.limits = limits

    async def run(self) -> None:
        config, _guard = server_config(
            home_app(), self.host, self.port, limits=self.limits, lifespan="off"
        )
        log.info("home port serving /health on %s:%d", self.host, self.port)
        await EmbeddedServer(config).run_until_cancelled()
