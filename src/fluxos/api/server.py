"""The HTTP server of the API port: uvicorn (uvloop + httptools) with connection limits.

uvicorn alone closes a connection only when its keep-alive timer runs out after a response:
a socket that never sends a byte, or stops halfway through its headers or its body, stays
open for ever, and one client holding ~20,000 of them exhausts the node's file descriptors
(bench/edge_servers.py shows what uvicorn, hypercorn and granian each enforce). The protocol
here is uvicorn's httptools protocol with the limits Node.js gives upstream, plus a per-IP
cap, enforced where the bytes arrive:

* idle timeout before the first request byte, header-read timeout, body-read timeout
  (silence while a body is expected; time the app spends not reading does not count);
* a 16 KiB cap on the request head (request line + headers), answered 431;
* at most `per_ip` open connections per client address and `total` overall: the next one
  is closed at once, before any byte is read;
* no keep-alive after a body the app did not read: a refusal answered from the headers
  closes the connection, and the rest of the body is never received.

Refusals and timeouts are counted and logged at most once a minute (`EdgeGuard`), so a flood
cannot fill the log.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

REPORT_EVERY = 60.0
FD_RESERVE = 512
"""File descriptors kept free of client connections (database, fluxd, Docker, logs)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may do (times in seconds). Defaults follow upstream's Node.js
    server where it has one: 16 KiB of headers, 60 s to send them, 5 s keep-alive."""

    first_byte_timeout: float = 20.0
    header_timeout: float = 60.0
    body_timeout: float = 60.0
    keep_alive_timeout: int = 5
    max_header_bytes: int = 16 * 1024
    per_ip: int = 256
    total: int = 60_000


@dataclass
class EdgeGuard:
    """Open connections by client address, and the tally of what was refused.

    `report()` logs the tally since the last report, at most once per `REPORT_EVERY`.
    """

    limits: ConnectionLimits
    time: Callable[[], float] = time.monotonic
    report_every: float = REPORT_EVERY
    open_by_ip: Counter[str] = field(default_factory=Counter)
    open_total: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)
    _last_report: float = field(default=float("-inf"))
    _flush: asyncio.TimerHandle | None = None

    def admit(self, ip: str) -> str | None:
        """Count a new connection from `ip`, or the reason to refuse it."""
        if self.open_total >= self.limits.total:
            return "total connection cap"
        if self.open_by_ip[ip] >= self.limits.per_ip:
            return "per-IP connection cap"
        self.open_by_ip[ip] += 1
        self.open_total += 1
        return None

    def release(self, ip: str) -> None:
        self.open_total -= 1
        left = self.open_by_ip[ip] - 1
        if left > 0:
            self.open_by_ip[ip] = left
        else:
            del self.open_by_ip[ip]

    def count(self, reason: str, ip: str) -> None:
        self.refused[f"{reason} ({ip})"] += 1
        self.totals[reason] += 1
        self.report()
        if self.refused and self._flush is None:
            # what arrives after this report is told in the next one, even if the flood stops
            self._flush = asyncio.get_running_loop().call_later(self.report_every, self._flushed)

    def _flushed(self) -> None:
        # forced: the timer was set right after a report, and an event loop may run it a
        # little before `time` says `report_every` has passed, which would drop the tally
        # until some later connection is refused (perhaps never)
        self._flush = None
        self.report(force=True)

    def report(self, force: bool = False) -> None:
        now = self.time()
        if not self.refused or (not force and now - self._last_report < self.report_every):
            return
        self._last_report = now
        top = ", ".join(f"{n} × {what}" for what, n in self.refused.most_common(5))
        more = len(self.refused) - 5
        log.warning(
            "refused or closed %d connections since the last report: %s%s",
            sum(self.refused.values()),
            top,
            f" and {more} more kinds" if more > 0 else "",
        )
        self.refused.clear()


def guarded_protocol(guard: EdgeGuard) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol class, with `guard`'s limits."""
    limits = guard.limits

    class GuardedProtocol(HttpToolsProtocol):
        _ip: str | None = None
        _timer: asyncio.TimerHandle | None = None
        _head_bytes = -1  # -1: between requests; else bytes of the head received so far
        _tail = b""
        _reading_body = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if isinstance(peer, tuple) and peer else "unix"
            refusal = guard.admit(ip)
            if refusal is not None:
                guard.count(refusal, ip)
                assert isinstance(transport, asyncio.Transport)
                transport.abort()
                return
            self._ip = ip
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm(limits.first_byte_timeout, "no request")

        def connection_lost(self, exc: Exception | None) -> None:
            if self._ip is None:  # refused in connection_made
                return
            self._disarm()
            guard.release(self._ip)
            self._ip = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._head_bytes < 0 and not self._reading_body:
                self._head_bytes = 0
                self._arm(limits.header_timeout, "headers not sent in time", answer=408)
            if self._head_bytes >= 0 and not self._head_fits(data):
                assert self._ip is not None
                guard.count("request head over 16 KiB", self._ip)
                self._answer(431, "Request Header Fields Too Large")
                return
            super().data_received(data)

        def _head_fits(self, data: bytes) -> bool:
            size = self._head_bytes + len(data)
            if size <= limits.max_header_bytes:
                self._head_bytes = size
                self._tail = data[-3:]
                return True
            end = (self._tail + data).find(b"\r\n\r\n")
            return end != -1 and self._head_bytes - len(self._tail) + end + 4 <= (
                limits.max_header_bytes
            )

        def on_headers_complete(self) -> None:
            self._head_bytes = -1
            self._disarm()
            super().on_headers_complete()
            if self.cycle is not None:
                self.cycle.transport = HeadHeldTransport(self.transport, self.loop)  # type: ignore[assignment]
            if self.parser is not None and self._expects_body():
                self._reading_body = True
                self._arm(limits.body_timeout, "body not sent in time")

        def _expects_body(self) -> bool:
            for name, value in self.headers:
                if name == b"content-length":
                    return value.strip() not in (b"", b"0")
                if name == b"transfer-encoding":
                    return True
            return False

        def on_body(self, body: bytes) -> None:
            if self._reading_body:
                self._arm(limits.body_timeout, "body not sent in time")
            super().on_body(body)

        def on_message_complete(self) -> None:
            if self._reading_body:
                self._reading_body = False
                self._disarm()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            if self._reading_body and not self.transport.is_closing():
                # Answered before the body was all received (a refusal): close rather than
                # drain it, or a client without credentials makes the node receive 16 MB
                # per refusal for as long as it likes. Routes say `connection: close` too.
                self.transport.close()
            super().on_response_complete()

        def handle_websocket_upgrade(self) -> None:
            # The websocket protocol takes the transport over (with its own ping timeout).
            self._disarm()
            if self._ip is not None:
                guard.release(self._ip)
                self._ip = None
            super().handle_websocket_upgrade()

        def send_400_response(self, msg: str) -> None:
            if self._ip is not None:
                guard.count("malformed request", self._ip)
            self._answer(400, msg)

        # -- timers ------------------------------------------------------------------
        def _arm(self, seconds: float, reason: str | None, answer: int | None = None) -> None:
            self._disarm()
            self._timer = self.loop.call_later(seconds, self._expire, reason, answer)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self, reason: str | None, answer: int | None) -> None:
            self._timer = None
            if self.transport.is_closing():
                return
            if self._reading_body and self.flow.read_paused:
                # The app is not reading (backpressure): the client is not the one waiting.
                self._arm(limits.body_timeout, reason)
                return
            if self._ip is not None and reason is not None:
                guard.count(reason, self._ip)
            if answer is not None and (self.cycle is None or self.cycle.response_complete):
                self._answer(answer, "Request Timeout")
            else:
                self.transport.close()

        def _answer(self, status: int, text: str) -> None:
            body = text.encode("ascii", "replace")
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, body, len(body), body)
            )
            self.transport.close()

    return GuardedProtocol


class HeadHeldTransport:
    """The transport one request's answer is written through: the response head is held
    and sent with the first body bytes in one write (uvicorn writes them separately, two
    system calls and often two packets per answer). A head with nothing after it goes out
    on the next turn of the event loop; everything else is the connection's transport."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._first:
            self._first = False
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
            return
        held, self._held = self._held, None
        self._transport.write(held + data if held else data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def raise_file_limit(log_it: bool = True) -> int:
    """Raise the soft limit of open files to the hard limit; the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            if log_it:
                log.info("open file limit raised from %d to %d", soft, target)
            soft = target
        except (ValueError, OSError) as error:
            log.warning("could not raise the open file limit from %d: %s", soft, error)
    return int(soft)


def server_config(
    app: Any,
    host: str,
    port: int,
    *,
    limits: ConnectionLimits | None = None,
    **options: Any,
) -> tuple[uvicorn.Config, EdgeGuard]:
    """The uvicorn configuration every API server of a node uses, and its guard."""
    limits = limits or ConnectionLimits()
    file_limit = raise_file_limit()
    limits = ConnectionLimits(
        first_byte_timeout=limits.first_byte_timeout,
        header_timeout=limits.header_timeout,
        body_timeout=limits.body_timeout,
        keep_alive_timeout=limits.keep_alive_timeout,
        max_header_bytes=limits.max_header_bytes,
        per_ip=limits.per_ip,
        total=max(64, min(limits.total, file_limit - FD_RESERVE)),
    )
    guard = EdgeGuard(limits)
    settings: dict[str, Any] = {
        "loop": "uvloop",
        "ws": "websockets-sansio",
        "lifespan": "on",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": limits.keep_alive_timeout,
        **options,
    }
    config = uvicorn.Config(app, host=host, port=port, http=guarded_protocol(guard), **settings)
    return config, guard
