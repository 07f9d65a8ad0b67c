"""JSON-RPC over HTTP with basic auth, as fluxd and fluxbenchd speak it (both ends).

The server side is used by `fluxos devnet` and `fluxos bench`; the client by the node and
the tests. Wire behaviour follows bitcoind's HTTP server, which fluxd inherits: a single
request answers HTTP 200 with `{"result", "error": null, "id"}` or HTTP 500 (404 for an
unknown method) with `{"result": null, "error": {"code", "message"}, "id"}`; a batch
always answers 200 with one such object per request; bad credentials answer 401 with an
empty body.
"""

from __future__ import annotations

import base64
import hmac
import inspect
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fluxos.errors import DaemonUnavailable, FluxError
from fluxos.rpctransport import ConnectFailed, RpcTransport

log = logging.getLogger(__name__)

# bitcoind's error codes that the server itself produces
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
MISC_ERROR = -1

Handler = Callable[..., Any | Awaitable[Any]]


class RpcError(FluxError):
    """An error answered by the remote daemon, with its JSON-RPC code (e.g. -8, -5, -28)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, code=code)


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # built once


def _dumps(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode()


class JsonRpcServer:
    """A method table served as an ASGI app.

    Handlers receive the request's positional params as arguments (`handler(*params)`)
    and may be sync or async. They raise `RpcError` for protocol errors; any other
    exception is logged and answered as a generic -1 error so the server keeps running.
    """

    def __init__(
        self,
        methods: Mapping[str, Handler],
        *,
        user: str,
        password: str,
        name: str = "jsonrpc",
    ) -> None:
        self.methods = dict(methods)
        self.name = name
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._expected_auth = f"Basic {token}"
        self.app = Starlette(routes=[Route("/", self._endpoint, methods=["POST"])])

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), self._expected_auth.encode())

    async def _endpoint(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="jsonrpc"'})
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = {
                "result": None,
                "error": {"code": PARSE_ERROR, "message": "Parse error"},
                "id": None,
            }
            return Response(_dumps(body), status_code=500, media_type="application/json")
        if isinstance(payload, list):
            replies = [(await self.dispatch(item))[0] for item in payload]
            return Response(_dumps(replies), media_type="application/json")
        reply, status = await self.dispatch(payload)
        return Response(_dumps(reply), status_code=status, media_type="application/json")

    async def dispatch(self, payload: Any) -> tuple[dict[str, Any], int]:
        """Run one request object; returns the reply object and the HTTP status for it alone."""
        if not isinstance(payload, dict):
            return _error_reply(None, INVALID_REQUEST, "Invalid Request object"), 500
        request_id = payload.get("id")
        method = payload.get("method")
        params = payload.get("params", [])
        if not isinstance(method, str):
            return _error_reply(request_id, INVALID_REQUEST, "Method must be a string"), 500
        if params is None:
            params = []
        if not isinstance(params, list):
            return _error_reply(request_id, INVALID_REQUEST, "Params must be an array"), 500
        handler = self.methods.get(method)
        if handler is None:
            return _error_reply(request_id, METHOD_NOT_FOUND, "Method not found"), 404
        try:
            result = handler(*params)
            if inspect.isawaitable(result):
                result = await result
        except RpcError as exc:
            return _error_reply(request_id, int(exc.code or MISC_ERROR), exc.message), 500
        except TypeError as exc:
            # Wrong number of positional params: bitcoind answers with the method's usage.
            if _is_arity_error(exc, handler):
                message = _usage(method, handler)
                return _error_reply(request_id, MISC_ERROR, message), 500
            log.exception("%s: %s failed", self.name, method)
            return _error_reply(request_id, MISC_ERROR, f"{method}: {exc}"), 500
        except Exception as exc:
            log.exception("%s: %s failed", self.name, method)
            return _error_reply(request_id, MISC_ERROR, f"{method}: {exc}"), 500
        return {"result": result, "error": None, "id": request_id}, 200


def _error_reply(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"result": None, "error": {"code": code, "message": message}, "id": request_id}


def _is_arity_error(exc: TypeError, handler: Handler) -> bool:
    try:
        inspect.signature(handler)
    except (TypeError, ValueError):
        return False
    text = str(exc)
    return "positional argument" in text or ("required" in text and "argument" in text)


def _usage(method: str, handler: Handler) -> str:
    doc = inspect.getdoc(handler)
    if doc:
        return doc
    params = " ".join(
        f'"{p.name}"' if p.default is inspect.Parameter.empty else f'( "{p.name}" )'
        for p in inspect.signature(handler).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )
    return f"{method} {params}".rstrip()


class JsonRpcClient:
    """Calls a fluxd-style JSON-RPC endpoint.

    Remote errors raise `RpcError` with the daemon's code; an unreachable daemon raises
    `DaemonUnavailable` whose code is the errno name (upstream reports `ECONNREFUSED`).
    """

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        timeout: float = 40.0,
        max_in_flight: int | None = None,
    ) -> None:
        self.url = url
        self._ids = itertools.cycle(range(1000))
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._http = RpcTransport(
            url,
            {"content-type": "application/json", "authorization": f"Basic {token}"},
            timeout=timeout,
            max_connections=max_in_flight,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> JsonRpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(self, method: str, *params: Any) -> Any:
        """Call `method` with positional params and return its result."""
        payload = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": list(params),
        }
        body = await self._post(payload)
        if not isinstance(body, dict):
            raise RpcError(MISC_ERROR, f"unexpected reply to {method}")
        error = body.get("error")
        if error:
            raise RpcError(int(error.get("code", MISC_ERROR)), str(error.get("message", "")))
        return body.get("result")

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send several calls at once; each element is a result or an `RpcError` instance."""
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
            for i, (m, p) in enumerate(calls)
        ]
        body = await self._post(payload)
        if not isinstance(body, list):
            raise RpcError(MISC_ERROR, "unexpected reply to a batch call")
        out: list[Any] = [None] * len(calls)
        for reply in body:
            idx = reply.get("id")
            if not isinstance(idx, int) or not 0 <= idx < len(calls):
                continue
            error = reply.get("error")
            out[idx] = (
                RpcError(int(error.get("code", MISC_ERROR)), str(error.get("message", "")))
                if error
                else reply.get("result")
            )
        return out

    async def _post(self, payload: Any) -> Any:
        try:
            reply = await self._http.post(_dumps(payload))
        except TimeoutError as exc:
            raise DaemonUnavailable(f"timeout calling {self.url}", code="ECONNABORTED") from exc
        except OSError as exc:
            code = "ECONNREFUSED" if isinstance(exc, ConnectFailed) else "ECONNRESET"
            raise DaemonUnavailable(f"connect {code} {self.url}: {exc}", code=code) from exc
        if reply.status == 401:
            raise RpcError(500, "Request failed with status code 401")
        try:
            return json.loads(reply.body)
        except ValueError:
            text = reply.body.decode("utf-8", "replace")
            raise RpcError(500, text or f"Request failed with status code {reply.status}") from None
