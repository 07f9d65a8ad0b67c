"""Whether the FluxOS node this bench serves is up (getstatus `flux`)."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

log = logging.getLogger(__name__)


class FluxApiProbe(Protocol):
    """Answers whether the local FluxOS API responds."""

    async def reachable(self) -> bool: ...


def probe_address(host: str) -> str:
    """Where to reach an API listening on `host`: a wildcard address through loopback,
    an IPv6 address in brackets."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 - a listen address, not a bind
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class HttpFluxApiProbe:
    """GET /flux/version on the node's API port; any success answer counts as connected."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.url = f"http://{probe_address(host)}:{port}/flux/version"
        self._timeout = timeout

    async def reachable(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(self.url)
        except httpx.HTTPError as exc:
            log.debug("FluxOS API at %s not reachable: %s", self.url, exc)
            return False
        return response.status_code == 200
