"""HTTP/1.1 POSTs to one JSON-RPC endpoint over kept-alive connections.

The node's calls to fluxd are small POSTs to one loopback address, thousands a second
under load. httpx spent ~1 ms of CPU on each (a request model, cookies, auth flow, h11,
anyio streams, two socket writes); here a request is one pre-built head plus the body in
a single write, and the answer is parsed by httptools (the parser uvicorn serves with),
the same shape Node's http client with a keep-alive agent gives upstream.

Only what a JSON-RPC daemon needs: POST to one path, Content-Length or chunked answers,
`http://` or `https://` (verified against the system's store). Failures raise `OSError`
subclasses (`ConnectFailed` when no connection could be opened, `ConnectionResetError`, …)
or `TimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

from fluxos.tls import client_context

MAX_IDLE = 16
"""Idle connections kept open (the node's fluxd client has at most 5 calls in flight)."""


class ConnectFailed(OSError):
    """The connection could not be opened (refused, unresolvable, unreachable)."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One connection: at most one request at a time; `closed` once the peer hangs up."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Reply] | None = None
        self._chunks: list[bytes] = []
        self._received = False
        self.keep_alive = True

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionResetError(f"malformed HTTP answer: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc if isinstance(exc, OSError) else ConnectionResetError("connection closed"))

    # -- httptools callbacks ------------------------------------------------------------
    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        waiter, self._waiter = self._waiter, None
        body = b"".join(self._chunks)
        self._chunks = []
        if waiter is not None and not waiter.done():
            waiter.set_result(Reply(self._parser.get_status_code(), body))

    # -- use ---------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None and self._waiter is None
        self._received = False
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    @property
    def received_any(self) -> bool:
        """Whether any byte of the current answer arrived (a reused connection that the
        peer closed before answering can be retried safely)."""
        return self._received

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RpcTransport:
    """POSTs to `url` with `headers` (each a `name: value` line), on reused connections."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        *,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.timeout = timeout
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = (ssl_context or client_context()) if parts.scheme == "https" else None
        authority = parts.netloc.rpartition("@")[2]
        lines = [f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
        lines.append(f"host: {authority}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._head = ("\r\n".join(lines) + "\r\ncontent-length: ").encode("latin-1")
        self._idle: list[_Connection] = []
        self._closed = False

    async def post(self, body: bytes) -> Reply:
        """POST `body`; the answer's status and body. Raises `OSError` or `TimeoutError`."""
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        async with asyncio.timeout(self.timeout):
            while self._idle:
                connection = self._idle.pop()
                if connection.closed:
                    continue
                try:
                    return await self._exchange(connection, request)
                except OSError:
                    if connection.received_any:
                        raise
                    # the peer closed this idle connection as we reused it: a new one
            return await self._exchange(await self._connect(), request)

    async def _exchange(self, connection: _Connection, request: bytes) -> Reply:
        try:
            reply = await connection.send(request)
        except BaseException:
            connection.close()
            raise
        if connection.keep_alive and not connection.closed and not self._closed:
            self._idle.append(connection)
            if len(self._idle) > MAX_IDLE:
                self._idle.pop(0).close()
        else:
            connection.close()
        return reply

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _transport, connection = await loop.create_connection(
                _Connection,
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl is not None else None,
            )
        except OSError as error:
            raise ConnectFailed(error.errno, str(error)) from error
        return connection

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.close()
