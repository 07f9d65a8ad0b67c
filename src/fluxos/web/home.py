"""The home port's server: a small Starlette app on the API's server machinery.

Other nodes probe `GET /health` here (answered `OK`) before counting this node available
(p2p.md §15). Browsers get the operator's UI: the installed bundle (`fluxos ui install`)
or, without one, the node's built-in status page. It runs on the same uvicorn protocol
as the API port, so the same connection limits apply: idle and header timeouts, the
16 KiB head cap, per-IP and total caps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fluxos.api.server import ConnectionLimits, server_config
from fluxos.web.assets import BundleFiles, not_found
from fluxos.web.bundle import UiBundles
from fluxos.web.nodestatus import NodeStatus
from fluxos.web.statuspage import CONTENT_SECURITY_POLICY, render_main, render_page

log = logging.getLogger(__name__)

_NO_STORE = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


class HomeSite:
    """What the home port serves beside `/health`: the installed UI bundle when there is
    one, else the built-in status page (404 for everything when neither is given)."""

    def __init__(self, bundles: UiBundles | None = None, status: NodeStatus | None = None):
        self.bundles = bundles
        self.status = status
        self.files = BundleFiles()

    async def respond(self, request: Request) -> Response:
        root = self.bundles.current() if self.bundles is not None else None
        if root is not None:
            return self.files.response(request, root)
        if self.status is None:
            return not_found()
        path = request.url.path
        if path in ("/", "/index.html"):
            page = render_page(await self.status.snapshot(), _api_url(request))
            headers = {**_NO_STORE, "content-security-policy": CONTENT_SECURITY_POLICY}
            return HTMLResponse(page, headers=headers)
        if path == "/status.html":
            main = render_main(await self.status.snapshot(), _api_url(request))
            return HTMLResponse(main, headers=_NO_STORE)
        if path == "/status.json":
            return JSONResponse(await self.status.snapshot(), headers=_NO_STORE)
        return not_found()


def _api_url(request: Request) -> str:
    """The API beside this home port (port + 1), on the host the browser used."""
    host = request.url.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = (request.url.port or 80) + 1
    return f"{request.url.scheme}://{host}:{port}"


async def _health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("OK")


async def _not_found(_request: Request, _error: Exception) -> PlainTextResponse:
    return not_found()


def home_app(site: HomeSite | None = None) -> Starlette:
    """`GET`/`HEAD /health` → `OK`; every other GET/HEAD path to `site` (405 for other
    methods); answers compressed for clients that accept gzip."""
    served = site or HomeSite()
    return Starlette(
        routes=[
            Route("/health", _health, methods=["GET", "HEAD"]),
            Route("/{path:path}", served.respond, methods=["GET", "HEAD"]),
        ],
        exception_handlers={404: _not_found},
        middleware=[Middleware(GZipMiddleware, minimum_size=1024)],
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

    def __init__(
        self,
        host: str,
        port: int,
        limits: ConnectionLimits | None = None,
        site: HomeSite | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.limits = limits
        self.site = site

    async def run(self) -> None:
        config, _guard = server_config(
            home_app(self.site), self.host, self.port, limits=self.limits, lifespan="off"
        )
        log.info("home port serving on %s:%d", self.host, self.port)
        await EmbeddedServer(config).run_until_cancelled()
