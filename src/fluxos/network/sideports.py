"""The two ports beside the API that other nodes probe before counting us available (§15).

* API port − 1 is upstream's home UI; the network only needs `GET /health` → `OK` there.
* API port + 2 is Syncthing's listening port, held by the real Syncthing the node manages
  (`fluxos.sync`); peers only test that a TCP connection opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

MAX_REQUEST_HEAD = 8192
READ_TIMEOUT = 5.0


class HomeHealthServer:
    """A minimal HTTP/1.1 server answering `GET /health` with `OK` (404 elsewhere)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    async def run(self) -> None:
        server = await asyncio.start_server(self._serve, self.host, self.port)
        log.info("home health check listening on %s:%d", self.host, self.port)
        async with server:
            await server.serve_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            writer.close()
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
        if parts[0] in ("GET", "HEAD") and path == "/health":
            status, body = "200 OK", b"OK"
        else:
            status, body = "404 Not Found", b"Not Found"
        headers = (
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with contextlib.suppress(OSError):
            writer.write(headers + (body if parts[0] != "HEAD" else b""))
            await writer.drain()
        writer.close()
