"""`POST /flux/keepupnpportsopen` (system.md §7.1): a node behind UPnP asks another to send
a little traffic to its app ports, so the gateway does not drop idle mappings (miniupnpd
may clean rules without traffic after 10 minutes).

The request `{ip, apiPort, ports, pubKey, timestamp, signature}` is accepted from the
owner or Flux team, or signed by a listed node (`JSON.stringify` without `signature`), at
most 10 minutes old. The asker's `/flux/uptime` must answer (3 s) — so only a live Flux
node gets traffic — then the reply (202) goes out and each port gets one TCP connect and
one UDP datagram `D`, 250 ms apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 600
PROBE_TIMEOUT = 3.0
PAUSE = 0.25
MAX_PORTS = 200


class KeepOpenRefused(Exception):
    """An answer of status code only (upstream ends these replies without a body)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


@dataclass(frozen=True)
class KeepOpen:
    ip: str
    api_port: int
    ports: tuple[int, ...]


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_request(body: Any, now: float | None = None) -> KeepOpen:
    """The request's target, or KeepOpenRefused(422) naming what is wrong (for the log)."""
    if not isinstance(body, dict):
        raise KeepOpenRefused(422, "the body is not an object")
    now = time.time() if now is None else now
    timestamp = body.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise KeepOpenRefused(422, f"timestamp {timestamp!r} is not a whole number")
    if timestamp + MAX_AGE_SECONDS < int(now):
        raise KeepOpenRefused(422, f"timestamp {timestamp!r} is not within 10 minutes")
    ip, api_port, ports = body.get("ip"), body.get("apiPort"), body.get("ports")
    if not ip or not api_port or not body.get("pubKey") or not body.get("signature"):
        raise KeepOpenRefused(422, "ip, apiPort, pubKey and signature are required")
    try:
        ipaddress.IPv4Address(str(ip))
    except ValueError:
        raise KeepOpenRefused(422, f"ip {ip!r} is not an IPv4 address") from None
    if not isinstance(ports, list) or len(ports) > MAX_PORTS:
        raise KeepOpenRefused(422, f"ports must be a list of at most {MAX_PORTS} ports")
    if not all(_is_integer(port) and 1 <= port <= 65535 for port in [api_port, *ports]):
        raise KeepOpenRefused(422, "apiPort and ports must be whole numbers from 1 to 65535")
    return KeepOpen(str(ip), int(api_port), tuple(int(port) for port in ports))


async def check_alive(http: httpx.AsyncClient, target: KeepOpen) -> None:
    url = f"http://{target.ip}:{target.api_port}/flux/uptime"
    try:
        await http.get(url, timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as error:
        raise KeepOpenRefused(503, f"Unable to connect back to api port: {error}") from None


async def touch_ports(target: KeepOpen) -> None:
    """One TCP connect and one UDP `D` to each port, 250 ms apart (after the reply)."""
    log.info("keepUPNPPortsOpen: touching %s ports %s", target.ip, list(target.ports))
    loop = asyncio.get_running_loop()
    for port in target.ports:
        with contextlib.suppress(OSError, TimeoutError):
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.ip, port), PROBE_TIMEOUT
            )
            writer.close()
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.setblocking(False)
            await loop.sock_sendto(udp, b"D", (target.ip, port))
        await asyncio.sleep(PAUSE)
