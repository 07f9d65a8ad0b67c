"""HTTP/1.1 POSTs to one JSON-RPC endpoint over kept-alive connections.

The node's calls to fluxd are small POSTs to one loopback address, thousands a second
under load. httpx spent ~1 ms of CPU on each (a request model, cookies, auth flow, h11,
anyio streams, two socket writes); here a request is one pre-built head plus the body in
a single write, and the answer is parsed by httptools (the parser uvicorn serves with),
the same shape Node's http client with a keep-alive agent gives upstream.

With `max_connections`, at most that many requests are in flight (upstream's limit of 5 on
fluxd); the others queue, and a connection whose answer completes takes the next one at
once, from the parser's callback: no event-loop turn passes between two calls on a slot
(with a semaphore, the next waiter only ran two turns later, behind every other request).

Only what a JSON-RPC daemon needs: POST to one path, Content-Length or chunked answers,
`http://` or `https://` (verified against the system's store). Failures raise `OSError`
subclasses (`ConnectFailed` when no connection could be opened, `ConnectionResetError`, …)
or `TimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

from fluxos.tls import client_context

MAX_IDLE = 16
"""Idle connections kept open when the number of connections is not limited."""


class ConnectFailed(OSError):
    """The connection could not be opened (refused, unresolvable, unreachable)."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


@dataclass(eq=False)
class _Pending:
    """A request waiting for, or travelling on, a connection."""

    request: bytes
    future: asyncio.Future[Reply]
    connection: _Connection | None = None
    reused: bool = False  # sent on a connection that had answered before
    retried: bool = False


class _Connection(asyncio.Protocol):
    """One connection: at most one request at a time; `closed` once it is going away."""

    def __init__(self, owner: RpcTransport) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False
        self.pending: _Pending | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._received = False

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
        pending, self.pending = self.pending, None
        if pending is not None and not pending.future.done():
            if pending.reused and not self._received and not pending.retried:
                # the peer closed this kept-alive connection as we reused it: a new one
                pending.retried = True
                self.owner._requeue(pending)
            else:
                error = exc if isinstance(exc, OSError) else None
                pending.future.set_exception(error or ConnectionResetError("connection closed"))
        self.owner._lost(self)

    # -- httptools callbacks ------------------------------------------------------------
    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        pending, self.pending = self.pending, None
        body = b"".join(self._chunks)
        self._chunks = []
        if pending is not None and not pending.future.done():
            pending.future.set_result(Reply(self._parser.get_status_code(), body))
        if self._parser.should_keep_alive() and not self.closed:
            self.owner._released(self)
        else:
            self.close()

    # -- use ---------------------------------------------------------------------------
    def start(self, pending: _Pending) -> None:
        assert self.transport is not None and self.pending is None
        pending.connection = self
        pending.reused = self.used
        self.used = True
        self.pending = pending
        self._received = False
        self.transport.write(pending.request)

    def _fail(self, error: Exception) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and not pending.future.done():
            pending.future.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass(eq=False)
class _Pool:
    idle: list[_Connection] = field(default_factory=list)
    queue: deque[_Pending] = field(default_factory=deque)
    open: int = 0  # connections open or being opened
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class RpcTransport:
    """POSTs to `url` with `headers`, on reused connections, at most `max_connections`
    at once (None: no limit)."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        *,
        timeout: float,
        max_connections: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.timeout = timeout
        self.max_connections = max_connections
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = (ssl_context or client_context()) if parts.scheme == "https" else None
        authority = parts.netloc.rpartition("@")[2]
        lines = [f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
        lines.append(f"host: {authority}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._head = ("\r\n".join(lines) + "\r\ncontent-length: ").encode("latin-1")
        self._pool = _Pool()
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Connections open or opening (each carries at most one request)."""
        return self._pool.open

    async def post(self, body: bytes) -> Reply:
        """POST `body`; the answer's status and body. Raises `OSError` or `TimeoutError`."""
        if self._closed:
            raise ConnectionResetError("the transport is closed")
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        pending = _Pending(request, asyncio.get_running_loop().create_future())
        self._submit(pending)
        try:
            async with asyncio.timeout(self.timeout):
                return await pending.future
        except BaseException:
            self._abandon(pending)
            raise

    # -- the pool (called from the connections' callbacks too) ---------------------------
    def _submit(self, pending: _Pending) -> None:
        pool = self._pool
        while pool.idle:
            connection = pool.idle.pop()
            if not connection.closed:
                connection.start(pending)
                return
        if self.max_connections is None or pool.open < self.max_connections:
            self._open_for(pending)
        else:
            pool.queue.append(pending)

    def _requeue(self, pending: _Pending) -> None:
        self._pool.queue.appendleft(pending)

    def _next(self) -> _Pending | None:
        queue = self._pool.queue
        while queue:
            pending = queue.popleft()
            if not pending.future.done():
                return pending
        return None

    def _released(self, connection: _Connection) -> None:
        """`connection` answered and stays open: it takes the next queued request."""
        if self._closed:
            connection.close()
            return
        pending = self._next()
        if pending is not None:
            connection.start(pending)
            return
        idle = self._pool.idle
        idle.append(connection)
        if self.max_connections is None and len(idle) > MAX_IDLE:
            idle.pop(0).close()

    def _lost(self, connection: _Connection) -> None:
        pool = self._pool
        pool.open -= 1
        with contextlib.suppress(ValueError):
            pool.idle.remove(connection)
        self._drain()

    def _drain(self) -> None:
        """Open connections for queued requests while the limit allows."""
        pool = self._pool
        while (
            pool.queue
            and not self._closed
            and (self.max_connections is None or pool.open < self.max_connections)
        ):
            pending = self._next()
            if pending is None:
                return
            self._open_for(pending)

    def _open_for(self, pending: _Pending) -> None:
        pool = self._pool
        pool.open += 1
        task = asyncio.get_running_loop().create_task(self._connect(pending))
        pool.tasks.add(task)
        task.add_done_callback(pool.tasks.discard)

    async def _connect(self, pending: _Pending) -> None:
        loop = asyncio.get_running_loop()
        try:
            _transport, connection = await loop.create_connection(
                lambda: _Connection(self),
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl is not None else None,
            )
        except OSError as error:
            self._pool.open -= 1
            if not pending.future.done():
                pending.future.set_exception(ConnectFailed(error.errno, str(error)))
            self._drain()
            return
        if pending.future.done():  # given up while the connection opened
            self._released(connection)
        else:
            connection.start(pending)

    def _abandon(self, pending: _Pending) -> None:
        """The caller stopped waiting (timeout, cancellation): its answer must not reach
        the next request on that connection."""
        with contextlib.suppress(ValueError):
            self._pool.queue.remove(pending)
        connection = pending.connection
        if connection is not None and connection.pending is pending:
            connection.close()

    async def aclose(self) -> None:
        self._closed = True
        pool = self._pool
        for connection in pool.idle:
            connection.close()
        pool.idle.clear()
        while pool.queue:
            pending = pool.queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(ConnectionResetError("the transport is closed"))
