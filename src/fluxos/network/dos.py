"""The node's DOS state: a score other parts read to decide whether the node is healthy
(p2p.md §14). Above 10 (or with a message set) logins are refused; 100 means "DOS".

`DosMonitor` runs upstream's periodic checks: our IP is known, nobody else runs our
collateral or our address, and a random node can reach us (§15); each failure raises
the score by upstream's increments, a clean availability test resets it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from fluxos.network.availability import communication_problem
from fluxos.network.networkstate import NetworkState
from fluxos.network.nodelist import FluxnodeList
from fluxos.network.params import NetworkParams
from fluxos.network.peers import PeerManager
from fluxos.network.socketaddress import split

log = logging.getLogger(__name__)

DOS_LIMIT = 10
DOS_FULL = 100
AVAILABILITY_RETRIES = 7
MIN_UPTIME_FOR_COMMUNICATION = 1800
SMALL_NETWORK_WAIT = 6 * 3600
IP_UNKNOWN = "Flux IP detection failed"
NOT_REACHABLE = (
    "Flux communication is limited, other nodes on the network cannot reach yours through API calls"
)
NOT_AVAILABLE = "Flux is not available for outside communication"
SAME_COLLATERAL = (
    "Flux collision detection. Another ip:port is confirmed on flux network with the same "
    "collateral transaction information."
)


class DosState:
    """`{dosState, dosMessage}`; a sticky pair (tampering) overrides both while set."""

    def __init__(self) -> None:
        self.state: float = 0
        self.message: str | None = None
        self._sticky: tuple[float, str] | None = None

    def view(self) -> dict[str, Any]:
        state, message = self._sticky if self._sticky else (self.state, self.message)
        return {"dosState": _plain(state), "dosMessage": message}

    @property
    def blocks_login(self) -> bool:
        view = self.view()
        return view["dosState"] > DOS_LIMIT or view["dosMessage"] is not None

    @property
    def is_dos(self) -> bool:
        return self.view()["dosState"] >= DOS_FULL

    def add(self, amount: float, message_over_limit: str | None = None) -> None:
        """Raise the score; once above 10, set `message_over_limit` unless a message is set."""
        self.state += amount
        if self.state > DOS_LIMIT and message_over_limit and self.message is None:
            self.message = message_over_limit
            log.error("DOS state %s: %s", _plain(self.state), self.message)

    def set(self, state: float, message: str | None) -> None:
        if state != self.state or message != self.message:
            log.warning("DOS state set to %s: %s", _plain(state), message)
        self.state = state
        self.message = message

    def reset(self) -> None:
        if self.state or self.message:
            log.info("DOS state cleared")
        self.state = 0
        self.message = None

    def set_sticky(self, state: float, message: str) -> None:
        self._sticky = (state, message)

    def clear_sticky(self) -> None:
        self._sticky = None


def collision(nodes: FluxnodeList, own_address: str, collateral: str) -> str | None:
    """The DOS message for another node holding our address or collateral (§14), or None."""
    here = nodes.entries_at(own_address)
    mine = [node for node in here if node.collateral == collateral]
    if len(here) > 1 and mine:
        height = _confirmed_height(mine[0].entry)
        if any(_confirmed_height(node.entry) <= height for node in here if node is not mine[0]):
            return f"Flux earlier collision detection on ip:{own_address}"
    elif len(here) == 1 and not mine:
        return SAME_COLLATERAL
    return None


def _confirmed_height(entry: Any) -> int:
    value = entry.get("readded_confirmed_height") or entry.get("confirmed_height") or 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class DosMonitor:
    """The periodic checks that move the DOS state."""

    def __init__(
        self,
        *,
        dos: DosState,
        state: NetworkState,
        peers: PeerManager,
        http: httpx.AsyncClient,
        params: NetworkParams,
        own_address: Callable[[], str | None],
        uptime: Callable[[], float],
        blocked_ports: int = 0,
        blocked_repositories: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self._rng = rng or random.Random()
        self._dos = dos
        self._state = state
        self._peers = peers
        self._http = http
        self._params = params
        self._own_address = own_address
        self._uptime = uptime
        self._blocked_ports = blocked_ports
        self._blocked_repositories = blocked_repositories

    async def run(self) -> None:
        await self._state.wait_ready()
        while True:
            await self.check()
            await asyncio.sleep(self._params.dos_check_interval)

    async def check(self) -> None:
        """One pass of upstream's `checkDeterministicNodesCollisions`."""
        address = self._own_address()
        if not address:
            self._dos.add(1, IP_UNKNOWN)
            return
        nodes = self._state.nodes
        if self._state.status:
            found = collision(nodes, address, self._state.collateral)
            if found:
                self._dos.set(DOS_FULL, found)
                return
            if self._state.confirmed and await self._collateral_elsewhere(nodes, address):
                return
        if not self._state.confirmed or nodes.at(address) is None:
            log.debug("DOS check: not confirmed or not listed; skipping the availability test")
            return
        small = len(nodes) <= self._params.min_incoming + self._params.min_outgoing
        if small and self._uptime() <= SMALL_NETWORK_WAIT:
            return
        await self.check_availability(address)

    async def _collateral_elsewhere(self, nodes: FluxnodeList, address: str) -> bool:
        """Our collateral at another address that answers: a collision (DOS 100)."""
        collateral = self._state.collateral
        others = [n for n in nodes.with_collateral(collateral) if n.address != address]
        if not collateral or not others:
            return False
        other = others[0]
        try:
            await self._http.get(f"http://{other.ip}:{other.port}/flux/version", timeout=5)
        except httpx.HTTPError:
            log.info("our collateral is listed at %s, which does not answer", other.address)
            return False
        self._dos.set(
            DOS_FULL,
            f"Flux collision detection. Node at {other.ip}:{other.port} is confirmed and "
            "reachable on flux network with the same collateral transaction information.",
        )
        return True

    async def check_availability(self, address: str) -> bool:
        """Ask random nodes whether they can reach us (`checkMyFluxAvailability`)."""
        if self._blocked_ports > 100:
            self._dos.state += 11
            self._dos.message = "User blocked ports above 100 limit"
            return False
        if self._blocked_repositories > 10:
            self._dos.state += 11
            self._dos.message = "User blocked repositories above 10 limit"
            return False
        ip, port = split(address)
        for _ in range(AVAILABILITY_RETRIES + 1):
            target = self._state.nodes.random_address(self._rng, address)
            if target is None:
                return False
            target_ip, target_port = split(target)
            url = f"http://{target_ip}:{target_port}/flux/checkfluxavailability?ip={ip}&port={port}"
            try:
                answer = (await self._http.get(url, timeout=7)).json()
            except (httpx.HTTPError, ValueError) as error:
                log.info("availability check via %s failed: %s", target, error)
                self._dos.add(2, NOT_REACHABLE)
                if self._dos.state > DOS_LIMIT:
                    return False
                continue
            message = (
                str((answer.get("data") or {}).get("message", ""))
                if isinstance(answer, dict)
                else ""
            )
            if not isinstance(answer, dict) or answer.get("status") == "error" or "not" in message:
                log.warning("%s reports that it cannot reach us", target)
                self._dos.add(2, NOT_AVAILABLE)
                if self._dos.state > DOS_LIMIT:
                    return False
                continue
            return self._after_reachable(address)
        return False

    def _after_reachable(self, address: str) -> bool:
        nodes = self._state.nodes
        big = len(nodes) > self._params.min_incoming + self._params.min_outgoing
        if self._uptime() > MIN_UPTIME_FOR_COMMUNICATION and big and nodes.at(address):
            problem = communication_problem(self._peers, self._params)
            if problem:
                # slow climb, DOS after about 75 minutes of too few peers
                self._dos.add(0.13, problem)
                return True
        self._dos.reset()
        return True


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)
