"""Flux nodes behind one public address (upstream 8.18, #1795): each has its own API port
but they share the address's ports, so two of them must never install apps onto the same
port. Every node answers `/flux/portsinuse` (the host ports of the apps installed on it);
before an install, a node asks the other nodes the fluxnode list puts on its own IP — a
plain HTTP GET to a machine the operator owns, which works with or without UPnP.

A sibling that does not answer is passed over (logged): a node that is down runs no
apps, and its own install checks still ask this node once it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

from fluxos.network.nodelist import FluxnodeList
from fluxos.network.socketaddress import normalize, split

log = logging.getLogger(__name__)

TIMEOUT = 5.0


class SiblingPorts:
    def __init__(
        self,
        nodes: Callable[[], FluxnodeList],
        own_address: Callable[[], str | None],
        http: Callable[[], httpx.AsyncClient],
    ) -> None:
        self.nodes = nodes
        self.own_address = own_address
        self.http = http

    def siblings(self) -> list[str]:
        """The other listed nodes on this node's IP (`ip:port`)."""
        own = self.own_address()
        if not own:
            return []
        ip, _port = split(normalize(own))
        return sorted(
            {n.address for n in self.nodes().nodes if n.ip == ip and n.address != normalize(own)}
        )

    async def __call__(self) -> dict[int, str]:
        """Port -> the sibling node whose apps use it."""
        siblings = self.siblings()
        answers = await asyncio.gather(*(self._ask(s) for s in siblings))
        used: dict[int, str] = {}
        for sibling, ports in zip(siblings, answers, strict=True):
            for port in ports:
                used.setdefault(port, sibling)
        return used

    async def _ask(self, sibling: str) -> list[int]:
        ip, port = split(sibling)
        try:
            reply = await self.http().get(f"http://{ip}:{port}/flux/portsinuse", timeout=TIMEOUT)
            body = reply.json()
        except (httpx.HTTPError, ValueError) as error:
            log.info("ports in use at %s unknown: %s", sibling, error)
            return []
        data = body.get("data") if isinstance(body, dict) else None
        if body.get("status") != "success" or not isinstance(data, list):
            log.info("ports in use at %s unknown: %s", sibling, str(body)[:200])
            return []
        return [int(p) for p in data if isinstance(p, int) and not isinstance(p, bool)]
