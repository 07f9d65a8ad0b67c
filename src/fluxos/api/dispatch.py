"""Fast request dispatch by static path prefix.

Starlette matches routes by trying each route's regex in turn; with ~1,000 path variants
(every optional segment doubles a route) that costs far more than the handlers do. Flux
routes are a static prefix followed by ordered optional segments, so a dictionary lookup
on the longest static prefix finds the route in a few steps. Everything it does not
match (docs, websockets, unknown paths) falls through to the FastAPI application.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluxos.api.envelope import error_response
from fluxos.api.routing import Endpoint
from fluxos.errors import FluxError

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,HEAD,PUT,PATCH,POST,DELETE"),
]


class RouteIndex:
    """(method, static prefix) → endpoint; matching strips trailing parameter segments."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._by_method: dict[str, dict[str, Endpoint]] = {}
        self._depth = 0
        for endpoint in endpoints:
            route = endpoint.route
            self._by_method.setdefault(route.method, {})[route.base] = endpoint
            self._depth = max(self._depth, len(route.row.params))

    def match(self, method: str, path: str) -> tuple[Endpoint, list[str]] | None:
        """The endpoint and the ordered values in `path`. The static part matches without
        regard to case, as Express does (`/Flux/Version`); values keep their case."""
        table = self._by_method.get("GET" if method == "HEAD" else method)
        if table is None:
            return None
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        lowered = path.lower()
        if len(lowered) != len(path):  # not the raw (latin-1) path: match as sent
            lowered = path
        endpoint = table.get(lowered)
        if endpoint is not None:
            return endpoint, []
        end = len(path)
        values: list[str] = []
        for _ in range(self._depth):
            cut = lowered.rfind("/", 0, end)
            if cut <= 0:
                return None
            values.append(path[cut + 1 : end])
            end = cut
            endpoint = table.get(lowered[:cut])
            if endpoint is not None:
                if len(values) > len(endpoint.route.row.params):
                    return None
                values.reverse()
                return endpoint, [unquote(v) for v in values]
        return None

    def served_otherwise(self, method: str, path: str) -> bool:
        """Whether another method than `method` serves `path`."""
        return any(
            other != method and self.match(other, path) is not None for other in self._by_method
        )


def method_not_allowed(method: str, path: str) -> FluxError:
    return FluxError(f"Method {method} is not allowed on {path}", code=405, http_status=405)


class Dispatcher:
    """The ASGI entry point: Flux routes by prefix lookup, the rest to the fallback app."""

    def __init__(self, index: RouteIndex, fallback: ASGIApp) -> None:
        self.index = index
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "OPTIONS":
                await _preflight(scope, send)
                return
            # Match on the path as sent: a value may hold an encoded "/" (a file name, a
            # base64 signature) that the decoded `path` would split into two segments.
            raw_path = scope.get("raw_path")
            path = raw_path.decode("latin-1") if raw_path else scope["path"]
            found = self.index.match(scope["method"], path)
            if found is not None:
                endpoint, values = found
                scope["fluxos.path_values"] = values
                response = await endpoint(Request(scope, receive))
            elif self.index.served_otherwise(scope["method"], path):
                response = error_response(method_not_allowed(scope["method"], scope["path"]))
            else:
                await self.fallback(scope, receive, _with_cors(send))
                return
            response.headers["access-control-allow-origin"] = "*"
            await response(scope, receive, send)
            return
        await self.fallback(scope, receive, send)


def _with_cors(send: Send) -> Send:
    """`send` that adds the CORS header to a response of the fallback application (unknown
    routes, docs), so browsers can read those envelopes too."""

    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), CORS_HEADERS[0]]
        await send(message)

    return send_with_cors


async def _preflight(scope: Scope, send: Send) -> None:
    requested = b""
    for name, value in scope.get("headers", []):
        if name == b"access-control-request-headers":
            requested = value
    headers: list[Any] = [*CORS_HEADERS, (b"content-length", b"0")]
    if requested:
        headers.append((b"access-control-allow-headers", requested))
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
