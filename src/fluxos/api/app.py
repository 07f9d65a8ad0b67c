"""The API application factory: every router module is listed here, once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from fluxos import FLUXOS_COMPAT_VERSION, __version__
from fluxos.api.cache import ResponseCache
from fluxos.api.dispatch import Dispatcher, RouteIndex, method_not_allowed
from fluxos.api.envelope import error_response
from fluxos.api.openapi import document_builder
from fluxos.api.routers import (
    appregistry,
    apps,
    appsruntime,
    benchmark,
    daemon,
    explorer,
    files,
    flux,
    identity,
    network,
    payment,
    syncthing,
    system,
)
from fluxos.api.routetable import load_route_table
from fluxos.api.routing import Call, Endpoint, FluxRouter, Route, WebSocketRoute
from fluxos.api.terminal import TerminalServer
from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter, FluxError, NotFound

if TYPE_CHECKING:
    from fluxos.node import Node

log = logging.getLogger(__name__)

ROUTERS: tuple[FluxRouter, ...] = (
    flux.router,
    system.router,
    identity.router,
    daemon.router,
    benchmark.router,
    network.router,
    apps.router,
    appsruntime.router,
    appregistry.router,
    explorer.router,
    syncthing.router,
    files.router,
    payment.router,
)


def create_app(
    node: Node,
    *,
    manage_node: bool = True,
    routers: tuple[FluxRouter, ...] = ROUTERS,
    complete_table: bool = True,
) -> Dispatcher:
    """Build the ASGI application serving `node`.

    With `manage_node` the application's lifespan starts and stops the node, so an ASGI
    server (or a test) running the app runs the whole node.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            if manage_node:
                async with node.running():
                    yield
            else:
                yield
        finally:
            await terminal.close()

    api = FastAPI(
        title="Flux OS API",
        version=FLUXOS_COMPAT_VERSION,
        description=(
            f"fluxos {__version__}: the Flux node API. GET values are accepted as ordered path "
            "segments or as query parameters. Each operation lists its permission level "
            "(`x-permission`); send the `zelidauth` header for levels above public."
        ),
        lifespan=lifespan,
    )
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(FluxError, _flux_error)

    cache = ResponseCache(node.clock)
    # an adjusted setting must not be answered from a day-old cache entry (upstream's
    # `/flux/routerip` & co. served the old value until their cache expired)
    node.live_settings.on_change(lambda _old, _new: cache.clear())
    routes = [route for router in routers for route in router.routes]
    if complete_table:
        routes += pending_routes(routes)
    parser = BlockingRunner("request bodies", max_workers=2)
    endpoints = [Endpoint(route, node, cache, parser) for route in routes]
    api.openapi = document_builder(api, endpoints)  # type: ignore[method-assign]
    # The dispatcher hands every websocket scope to the FastAPI application.
    for socket_route in (ws for router in routers for ws in router.websockets):
        _mount_websocket(api, socket_route, node)
    # the operator UI's app terminal: socket.io under /socket.io/, namespace /terminal
    terminal = TerminalServer(node)
    return Dispatcher(RouteIndex(endpoints), terminal.asgi(api))


def _mount_websocket(api: FastAPI, route: WebSocketRoute, node: Node) -> None:
    service = route.service(node)

    async def handle(websocket: WebSocket) -> None:
        await route.handler(websocket, service)

    api.add_api_websocket_route(route.starlette_path, handle, name=route.path)


def all_routes() -> list[Route]:
    return [route for router in ROUTERS for route in router.routes]


def pending_routes(declared: list[Route]) -> list[Route]:
    """Routes of the table no router implements yet.

    They still enforce their permission level, then answer a clear error, so the whole
    API surface is guarded and a client learns why its call did not work.
    """
    taken = {(route.method, route.base) for route in declared}
    return [
        Route(row=row, handler=_not_implemented, section="Not implemented yet", summary=row.base)
        for key, row in load_route_table().items()
        if key not in taken
    ]


async def _not_implemented(call: Call[Any]) -> None:
    row = call.route.row
    raise FluxError(
        f"{row.method} {row.template} is not implemented by this node yet",
        code=501,
        name="NotImplemented",
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error: FluxError = NotFound(
            f"Route {request.method} {request.url.path} does not exist", code=404, http_status=404
        )
    elif exc.status_code == 405:
        error = method_not_allowed(request.method, request.url.path)
    else:
        error = FluxError(str(exc.detail), code=exc.status_code, http_status=exc.status_code)
    return error_response(error)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}" for err in exc.errors()
    )
    return error_response(BadParameter(problems or "invalid request"))


async def _flux_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FluxError)
    return error_response(exc)
