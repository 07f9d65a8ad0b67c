"""Route declarations and the one generic endpoint every Flux API route runs through.

A router module declares handlers with `FluxRouter.get/post`; the route table supplies the
ordered parameters, permission and cache lifetime. The endpoint enforces the permission
before it reads a single body byte, binds parameters (ordered path segment first, then the
query string, then — for POST — the body), serves caller-independent answers from the
response cache, calls the handler and wraps its result in the envelope. Errors become the
error envelope here and only here.

Bodies: a POST route takes its body as an object by default (JSON or `qs`, whatever the
Content-Type, at most `max_body` bytes, large ones parsed in a worker thread); a route
declared with `body="stream"` gets it as `call.stream()` instead, and a handler may answer
with `Streamed(...)` (see `fluxos.api.streams`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket

from fluxos.api.answers import Rendered, json_answer
from fluxos.api.envelope import error_response, json_response, render, success_body
from fluxos.api.routetable import RouteRow, load_route_table, split_template
from fluxos.api.streams import (
    MIB,
    BodyStream,
    ClientGone,
    Streamed,
    declared_length,
    has_body,
    streaming_response,
    too_large,
)
from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter, DaemonUnavailable, FluxError, Unauthorized
from fluxos.jsonrpc import RpcError
from fluxos.wire.bodies import NestedTooDeep, ensure_object
from fluxos.wire.permissions import Authorizer, Permission

if TYPE_CHECKING:
    from fluxos.api.cache import ResponseCache
    from fluxos.node import Node
    from fluxos.system.metrics import NodeMetrics

log = logging.getLogger(__name__)

S = TypeVar("S")
ServiceOf = Callable[["Node"], S]
"""How a router finds the service it serves on a node (`lambda node: node.apps`)."""
Handler = Callable[["Call[Any]"], Awaitable[Any]]
WebSocketHandler = Callable[[WebSocket, Any], Awaitable[None]]
BodyKind = Literal["object", "stream"]
ResponseKind = Literal["json", "stream"]
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
MAX_BODY_BYTES = 16 * MIB
"""The default limit of an object body (a route may set its own `max_body`)."""
PARSE_IN_THREAD_BYTES = 256 * 1024
"""Object bodies above this size are parsed in a worker thread, not on the event loop."""
_UNREAD: Any = object()
RPC_IN_WARMUP = -28  # fluxd's "Loading block index…", "Verifying blocks…"
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


@dataclass(frozen=True)
class Route:
    """A declared route: its table row, handler and how to find the app it concerns."""

    row: RouteRow
    handler: Handler
    section: str
    summary: str
    app_param: str | None = "appname"
    cacheable: bool = field(default=False)
    service: ServiceOf[Any] = field(default=lambda node: None)  # routes without a service
    body: BodyKind = "object"
    max_body: int = MAX_BODY_BYTES
    response: ResponseKind = "json"
    max_response: int | None = None

    @property
    def method(self) -> str:
        return self.row.method

    @property
    def base(self) -> str:
        return self.row.base


@dataclass(frozen=True)
class WebSocketRoute:
    """A websocket endpoint: `path` in upstream's form (`/ws/id/:loginphrase`).

    The handler receives the Starlette `WebSocket` (path parameters in `path_params`)
    and the router's service.
    """

    path: str
    handler: WebSocketHandler
    section: str
    service: ServiceOf[Any] = field(default=lambda node: None)

    @property
    def starlette_path(self) -> str:
        return "/".join(
            "{" + part[1:] + "}" if part.startswith(":") else part for part in self.path.split("/")
        )


TypedHandler = Callable[["Call[S]"], Awaitable[Any]]
TypedWebSocketHandler = Callable[[WebSocket, S], Awaitable[None]]


class FluxRouter(Generic[S]):
    """Collects the routes of one API section; every handler gets `call.service`, typed.

    `service` picks the router's service off the node once, when the app is built:
    `FluxRouter("Apps", lambda node: node.apps)` gives handlers `Call[AppsService]`.
    """

    def __init__(self, section: str, service: ServiceOf[S]) -> None:
        self.section = section
        self.service = service
        self.routes: list[Route] = []
        self.websockets: list[WebSocketRoute] = []

    def websocket(
        self, path: str
    ) -> Callable[[TypedWebSocketHandler[S]], TypedWebSocketHandler[S]]:
        """Declare a websocket endpoint; `create_app` mounts it beside the HTTP routes."""

        def register(handler: TypedWebSocketHandler[S]) -> TypedWebSocketHandler[S]:
            self.websockets.append(WebSocketRoute(path, handler, self.section, self.service))
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[TypedHandler[S]], TypedHandler[S]]:
        return self._declare("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[TypedHandler[S]], TypedHandler[S]]:
        return self._declare("POST", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[TypedHandler[S]], TypedHandler[S]]:
        return self._declare("DELETE", path, **options)

    def _declare(
        self,
        method: str,
        path: str,
        *,
        permission: Permission | tuple[Permission, ...] | None = None,
        params: tuple[str, ...] | None = None,
        cache_seconds: int | None = None,
        app_param: str | None = "appname",
        summary: str | None = None,
        body: BodyKind = "object",
        max_body: int = MAX_BODY_BYTES,
        response: ResponseKind = "json",
        max_response: int | None = None,
    ) -> Callable[[TypedHandler[S]], TypedHandler[S]]:
        """Declare a route. `body="stream"` hands the POST body to the handler as
        `call.stream()` (at most `max_body` bytes); `response="stream"` documents that the
        handler answers `Streamed(...)`, sent as it is produced (at most `max_response`)."""
        row = _resolve_row(method, path, permission, params, cache_seconds)
        if body == "stream" and method != "POST":
            raise ValueError(f"{method} {path}: only POST routes take a body stream")

        def register(handler: TypedHandler[S]) -> TypedHandler[S]:
            doc = (handler.__doc__ or "").strip().splitlines()
            # Only answers that cannot depend on the caller are cached; upstream's URL-keyed
            # cache on protected routes served one caller's data to another.
            cacheable = row.cache_seconds is not None and row.permission is Permission.PUBLIC
            self.routes.append(
                Route(
                    row=row,
                    handler=handler,
                    section=self.section,
                    summary=summary or (doc[0] if doc else row.base),
                    app_param=app_param,
                    cacheable=cacheable and response == "json",
                    service=self.service,
                    body=body,
                    max_body=max_body,
                    response=response,
                    max_response=max_response,
                )
            )
            return handler

        return register


def _resolve_row(
    method: str,
    path: str,
    permission: Permission | tuple[Permission, ...] | None,
    params: tuple[str, ...] | None,
    cache_seconds: int | None,
) -> RouteRow:
    base, template_params = split_template(path)
    table_row = load_route_table().get((method, base))
    if table_row is None and (permission is None or (params is None and ":" not in path)):
        raise ValueError(f"{method} {base} is not in routes.tsv: declare its permission and params")
    declared_params = params if params is not None else template_params or None
    if (
        table_row is not None
        and declared_params is not None
        and declared_params != table_row.params
    ):
        raise ValueError(f"{method} {base}: params {declared_params} differ from the route table")
    if isinstance(permission, Permission):
        permission = (permission,)
    if table_row is None:
        return RouteRow(
            method=method,
            template=path,
            base=base,
            params=declared_params or (),
            permissions=permission or (Permission.PUBLIC,),
            caller_dependent=False,
            cache_seconds=cache_seconds,
            local_only=False,
        )
    if permission is None and cache_seconds is None:
        return table_row
    return RouteRow(
        method=method,
        template=table_row.template,
        base=base,
        params=table_row.params,
        permissions=permission or table_row.permissions,
        caller_dependent=table_row.caller_dependent,
        cache_seconds=cache_seconds if cache_seconds is not None else table_row.cache_seconds,
        local_only=table_row.local_only,
    )


class Call(Generic[S]):
    """One request as a handler sees it: bound parameters, body, caller, and the service
    its router serves (`service`)."""

    __slots__ = ("_body", "_path_values", "_stream", "authorizer", "request", "route", "service")

    def __init__(
        self,
        request: Request,
        service: S,
        route: Route,
        path_values: list[str],
        body: Any = _UNREAD,
        *,
        authorizer: Authorizer,
    ) -> None:
        self.request = request
        self.service = service
        self.authorizer = authorizer
        self.route = route
        self._path_values = path_values
        self._body = body
        self._stream: BodyStream | None = None

    # -- raw values -------------------------------------------------------------------
    def param(self, name: str) -> Any:
        """The value of `name`: ordered path segment, else query string, else POST body field.

        Empty strings count as absent, as upstream's `a || b` binding treats them.
        """
        params = self.route.row.params
        if name in params:
            index = params.index(name)
            if index < len(self._path_values) and self._path_values[index] != "":
                return self._path_values[index]
        value = self.request.query_params.get(name)
        if value not in (None, ""):
            return value
        if self._body is not _UNREAD and isinstance(self._body, dict):
            value = self._body.get(name)
            if value not in (None, ""):
                return value
        return None

    @property
    def body(self) -> Any:
        """The POST body as an object (JSON or query string); `{}` when empty."""
        if self._body is _UNREAD:
            if self.route.body == "stream":
                raise RuntimeError(f"{self.route.base} takes its body as call.stream()")
            return {}
        return self._body

    def object_body(self) -> dict[str, Any]:
        body = self.body
        if not isinstance(body, dict):
            raise BadParameter("request body must be a JSON object or a query string")
        return body

    @property
    def body_loaded(self) -> bool:
        return self._body is not _UNREAD

    def stream(self) -> BodyStream:
        """The request body as it arrives (routes declared with `body="stream"`): iterate
        it once; it stops with `BadParameter` past the route's `max_body`."""
        if self.route.body != "stream":
            raise RuntimeError(f"{self.route.base} takes its body as an object (call.body)")
        if self._stream is None:
            self._stream = BodyStream(self.request, self.route.max_body)
        return self._stream

    @property
    def body_unread(self) -> bool:
        """Whether the client sent a body that nobody read (the server must drain it)."""
        if not has_body(self.request):
            return False
        if self.route.body == "stream":
            return self._stream is None or not self._stream.started
        return self._body is _UNREAD

    async def load_body(self, parser: BlockingRunner | None = None) -> None:
        """Read and parse the object body (at most the route's `max_body` bytes)."""
        if self._body is not _UNREAD or self.route.body != "object":
            return
        raw = await BodyStream(self.request, self.route.max_body).read()
        if parser is not None and len(raw) > PARSE_IN_THREAD_BYTES:
            self._body = await parser.run(ensure_object, raw)
        else:
            self._body = ensure_object(raw)

    @property
    def zelidauth(self) -> str | None:
        return self.request.headers.get("zelidauth") or self.request.query_params.get("zelidauth")

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else ""

    # -- typed values -----------------------------------------------------------------
    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.param(name)
        if value is None:
            if required:
                raise BadParameter(f"{name} is required")
            return None
        return value if isinstance(value, str) else render(value).decode()

    def require(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self.param(name)
        if value is None:
            if required:
                raise BadParameter(f"{name} is required")
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            raise BadParameter(f"{name} must be an integer, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise BadParameter(f"{name} must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise BadParameter(f"{name} must be at most {maximum}, got {number}")
        return number

    def boolean(self, name: str, *, default: bool | None = None) -> bool | None:
        value = self.param(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise BadParameter(f"{name} must be true or false, got {value!r}")

    async def authorized(self, level: Permission, app_name: str | None = None) -> bool:
        """Whether the caller holds `level` (for routes whose output depends on the caller)."""
        return bool(await self.authorizer.authorize(level, self.zelidauth, app_name))


class Endpoint:
    """The ASGI-facing callable for one route (shared by the fast dispatcher and FastAPI)."""

    def __init__(
        self,
        route: Route,
        node: Node,
        cache: ResponseCache,
        parser: BlockingRunner | None = None,
    ) -> None:
        self.route = route
        self.service = route.service(node)
        self.authorizer: Authorizer = node.authorizer
        self.cache = cache
        self.parser = parser
        self.metrics: NodeMetrics | None = getattr(node, "metrics", None)

    async def __call__(self, request: Request) -> Response:
        if self.metrics is None:
            return await self._respond(request)
        started = time.perf_counter()
        response = await self._respond(request)
        self.metrics.observe_request(
            self.route.base, self.route.method, response.status_code, time.perf_counter() - started
        )
        return response

    async def _respond(self, request: Request) -> Response:
        route = self.route
        call: Call[Any] | None = None
        try:
            if route.row.local_only and (
                request.client is None or request.client.host not in LOOPBACK
            ):
                return _closing_if_unread(
                    PlainTextResponse("Access denied", status_code=401), request
                )
            path_values = request.scope.get("fluxos.path_values")
            if path_values is None:
                path_values = [request.path_params.get(p, "") for p in route.row.params]
            call = Call(
                request,
                self.service,
                route,
                path_values,
                authorizer=self.authorizer,
            )
            # No body byte is read before the caller is known to hold the route's level.
            await self._check_permission(call)
            if route.method == "POST":
                announced = declared_length(request)
                if announced is not None and announced > route.max_body:
                    raise too_large(route.max_body)
                await call.load_body(self.parser)
            cache_key = await self._cache_key(call) if route.cacheable else None
            if cache_key is not None:
                cached = self.cache.get(cache_key)
                if self.metrics is not None:
                    self.metrics.observe_cache(cached is not None)
                if cached is not None:
                    return await self._answer(cached, request)
            result = await route.handler(call)
            if isinstance(result, Streamed):
                return streaming_response(
                    result, route.max_response, f"{route.method} {request.url.path}"
                )
            if isinstance(result, Response):
                return result
            rendered = Rendered(render(success_body(result)))
            if cache_key is not None:
                self.cache.put(cache_key, rendered, route.row.cache_seconds or 0)
            return await self._answer(rendered, request)
        except ClientGone as gone:
            log.info(
                "%s %s: client disconnected (%s)",
                route.method,
                request.url.path,
                gone,
                extra={"dedupe": "client disconnected"},
            )
            return Response(status_code=400, headers={"connection": "close"})
        except (FluxError, NestedTooDeep) as failure:
            error = _client_error(failure)
            response = error_response(error)
            if call is None or call.body_unread:
                return _closing_if_unread(response, request)
            return response
        except Exception:
            log.exception("%s %s failed", route.method, request.url.path)
            return json_response(
                {"status": "error", "data": {"name": "Error", "message": "Internal error"}}
            )

    async def _answer(self, rendered: Rendered, request: Request) -> Response:
        route = self.route
        return await json_answer(
            rendered,
            request,
            max_age=route.row.cache_seconds if route.cacheable else None,
            private=route.row.caller_dependent,
            runner=self.parser,
        )

    async def _check_permission(self, call: Call[Any]) -> None:
        permissions = self.route.row.permissions
        if Permission.PUBLIC in permissions:
            return
        route = self.route
        # The app a request concerns, from the path or the query: the body is unread yet.
        app_name = call.text(route.app_param) if route.app_param else None
        authorizer = self.authorizer
        zelidauth = call.zelidauth
        for level in permissions:
            if await authorizer.authorize(level, zelidauth, app_name):
                return
        needs_app = [level for level in permissions if level.needs_app]
        if (
            needs_app
            and app_name is None
            and route.app_param
            and route.method == "POST"
            and route.body == "object"
            and has_body(call.request)
            # Only a signed-in user may make the node read a body to learn the app name.
            and await authorizer.authorize(Permission.USER, zelidauth)
        ):
            await call.load_body(self.parser)
            app_name = call.text(route.app_param)
            if app_name is not None:
                for level in needs_app:
                    if await authorizer.authorize(level, zelidauth, app_name):
                        return
        raise Unauthorized()

    async def _cache_key(self, call: Call[Any]) -> str:
        scope = call.request.scope
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        # from the scope: building `request.url` cost more than the cache lookup
        key = f"{method} {scope['path']}?{scope['query_string'].decode('latin-1')}"
        if self.route.row.caller_dependent:
            # Answers that differ for the admin are cached per privilege, never shared.
            is_admin = await call.authorized(Permission.ADMIN)
            key += "#admin" if is_admin else "#public"
        return key


def _client_error(failure: FluxError | NestedTooDeep) -> FluxError:
    if isinstance(failure, NestedTooDeep):
        return BadParameter(str(failure))
    if isinstance(failure, RpcError) and failure.code == RPC_IN_WARMUP:
        # fluxd is up but still loading its block index: come back later, like unreachable
        return DaemonUnavailable(failure.message, code=failure.code)
    return failure


def _closing_if_unread(response: Response, request: Request) -> Response:
    """An answer given before the body was read (a refusal): the connection is closed after
    it, so the server reads none of the body. Draining it to keep the connection alive let
    a client without credentials make the node receive 16 MB per refusal, as often as it
    liked (bench/edge_limits.py)."""
    if has_body(request):
        response.headers["connection"] = "close"
    return response
