"""Request bodies read as streams and answers sent as streams, each with a counted limit.

A route that takes a large body (an upload, a backup restore) declares
`router.post(path, body="stream", max_body=N)`; its handler iterates `call.stream()` and
never holds more than one chunk. A route that answers with a stream (a download, exec
output, install progress, logs) returns `Streamed(chunks, ...)`; the edge sends it chunk by
chunk and stops at the route's `max_response`. The permission check has run before either
is touched: the edge reads no body byte for a caller the route refuses.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from fluxos.errors import BadParameter

log = logging.getLogger(__name__)

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class ClientGone(Exception):
    """The client closed the connection before its request was read or answered."""


def too_large(limit: int) -> BadParameter:
    return BadParameter(f"request body must be at most {limit} bytes", code=413)


def declared_length(request: Request) -> int | None:
    """The body size the client announced (`Content-Length`), None for chunked or absent."""
    text = request.headers.get("content-length")
    if text is None or not text.strip().isdigit():
        return None
    return int(text)


def has_body(request: Request) -> bool:
    length = declared_length(request)
    if length is not None:
        return length > 0
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


class BodyStream:
    """The request body as it arrives, chunk by chunk, counted against `limit` bytes.

    Iterate it once (`async for chunk in call.stream()`) or `await read()` the whole of a
    small body. Past the limit it raises `BadParameter` (code 413); a client that goes
    away mid-body raises `ClientGone`. `received` counts the bytes read so far.
    """

    def __init__(self, request: Request, limit: int) -> None:
        self._request = request
        self.limit = limit
        self.received = 0
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("the request body stream can be read only once")
        self._started = True
        announced = declared_length(self._request)
        if announced is not None and announced > self.limit:
            raise too_large(self.limit)
        try:
            async for chunk in self._request.stream():
                if not chunk:
                    continue
                self.received += len(chunk)
                if self.received > self.limit:
                    raise too_large(self.limit)
                yield chunk
        except ClientDisconnect:
            raise ClientGone(f"client left after {self.received} body bytes") from None

    async def read(self) -> bytes:
        """The whole body (at most `limit` bytes)."""
        return b"".join([chunk async for chunk in self])


@dataclass(frozen=True)
class Streamed:
    """A handler's answer sent as a stream: `chunks` (bytes or text) in order.

    `limit` caps the bytes sent (default: the route's `max_response`); past it the stream
    stops and the edge logs why. `filename` makes it a download (Content-Disposition).
    """

    chunks: AsyncIterable[bytes | str]
    media_type: str = "application/octet-stream"
    limit: int | None = None
    headers: Mapping[str, str] | None = None
    filename: str | None = None
    status_code: int = 200
    reads_body: bool = False
    """The chunks are produced while the request body is read (an upload's progress): the
    answer must not listen for the client's disconnect itself, or it would take body
    messages from the stream; the body stream reports a departed client instead."""


def streaming_response(streamed: Streamed, limit: int | None, what: str) -> StreamingResponse:
    """The Starlette response for `streamed`, counting bytes against its limit."""
    cap = streamed.limit if streamed.limit is not None else limit
    headers = dict(streamed.headers or {})
    if streamed.filename is not None:
        safe = streamed.filename.replace('"', "").replace("\r", "").replace("\n", "")
        headers["content-disposition"] = f'attachment; filename="{safe}"'
    response_class = _BodyReadingResponse if streamed.reads_body else StreamingResponse
    return response_class(
        _counted(streamed.chunks, cap, what),
        status_code=streamed.status_code,
        media_type=streamed.media_type,
        headers=headers,
    )


class _BodyReadingResponse(StreamingResponse):
    """A streamed answer sent while its request's body is still being read."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError:
            raise ClientDisconnect() from None


async def _counted(
    chunks: AsyncIterable[bytes | str], limit: int | None, what: str
) -> AsyncIterator[bytes]:
    sent = 0
    try:
        async for chunk in chunks:
            data = chunk.encode() if isinstance(chunk, str) else chunk
            if limit is not None and sent + len(data) > limit:
                log.warning("%s: answer stopped at its limit of %d bytes", what, limit)
                remaining = limit - sent
                if remaining > 0:
                    yield data[:remaining]
                return
            sent += len(data)
            yield data
    except ClientGone as gone:
        log.info(
            "%s: client disconnected (%s)", what, gone, extra={"dedupe": "client disconnected"}
        )
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()
