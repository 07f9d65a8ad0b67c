"""Whether a node is reachable the way the network requires (p2p.md §15).

Other nodes count us as available only if our API answers `/flux/version` with a recent
enough version, the home port (API port − 1) answers `/health` with `OK`, and the port
Syncthing uses (API port + 2) accepts TCP connections. We apply the same test to others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import httpx

from fluxos.network.networkstate import NetworkState
from fluxos.network.params import NetworkParams
from fluxos.network.peers import PeerManager
from fluxos.network.socketaddress import ALLOWED_PORTS

log = logging.getLogger(__name__)

MINIMUM_VERSION = (8, 13, 1)
PROBE_TIMEOUT = 5.0
_IP_CHARS = re.compile(r"^[0-9.]+$")


def version_tuple(text: str) -> tuple[int, ...]:
    """`8.17.0` → (8, 17, 0); non-numeric parts count as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in text.split("."))


class AvailabilityProbe:
    """Tests another node's API, home port and Syncthing port."""

    def __init__(self, state: NetworkState, http: httpx.AsyncClient) -> None:
        self._state = state
        self._http = http

    async def is_available(self, ip: str, port: int) -> bool:
        if not _IP_CHARS.match(ip) or port not in ALLOWED_PORTS:
            return False
        if self._state.nodes.at(f"{ip}:{port}") is None:
            log.info("availability of %s:%d: not in the node list", ip, port)
            return False
        checks = await asyncio.gather(
            self._version_ok(ip, port), self._home_ok(ip, port - 1), _tcp_open(ip, port + 2)
        )
        if not all(checks):
            log.info("availability of %s:%d: version %s, home %s, port+2 %s", ip, port, *checks)
        return all(checks)

    async def _version_ok(self, ip: str, port: int) -> bool:
        try:
            answer = (
                await self._http.get(f"http://{ip}:{port}/flux/version", timeout=PROBE_TIMEOUT)
            ).json()
        except (httpx.HTTPError, ValueError):
            return False
        if not isinstance(answer, dict) or answer.get("status") != "success":
            return False
        return version_tuple(str(answer.get("data"))) >= MINIMUM_VERSION

    async def _home_ok(self, ip: str, port: int) -> bool:
        try:
            response = await self._http.get(f"http://{ip}:{port}/health", timeout=PROBE_TIMEOUT)
        except httpx.HTTPError:
            return False
        body = response.text
        return body == "OK" or "<title>" in body


async def _tcp_open(ip: str, port: int) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(ip, port), timeout=PROBE_TIMEOUT
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def communication_problem(peers: PeerManager, params: NetworkParams) -> str | None:
    """The first unmet connectivity rule of `/flux/checkcommunication`, or None."""
    outbound = peers.outbound()
    inbound = peers.inbound()
    if len(outbound) < params.min_outgoing:
        return (
            "Not enough outgoing connections established to Flux network. "
            f"Minimum required {params.min_outgoing} found {len(outbound)}"
        )
    if len(inbound) < params.min_incoming:
        return (
            "Not enough incoming connections from Flux network. "
            f"Minimum required {params.min_incoming} found {len(inbound)}"
        )
    out_ips = len({peer.ip for peer in outbound})
    if out_ips < params.min_unique_ips_outgoing:
        return (
            "Not enough outgoing unique ip's connections established to Flux network. "
            f"Minimum required {params.min_unique_ips_outgoing} found {out_ips}"
        )
    in_ips = len({peer.ip for peer in inbound})
    if in_ips < params.min_unique_ips_incoming:
        return (
            "Not enough incoming unique ip's connections from Flux network. "
            f"Minimum required {params.min_unique_ips_incoming} found {in_ips}"
        )
    return None
