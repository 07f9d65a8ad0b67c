"""Whether the FluxOS node this bench serves is up (getstatus `flux`)."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

log = logging.getLogger(__name__)


class FluxApiProbe(Protocol):
    """Answers whether the local FluxOS API responds."""

    async def reachable(self) -> bool: ...


class HttpFluxApiProbe:
    """GET /flux/version on the node's API port; any success answer counts as connected."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.url = f"http://{host}:{port}/flux/version"
        self._timeout = timeout

    async def reachable(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(self.url)
        except httpx.HTTPError as exc:
            log.debug("FluxOS API at %s not reachable: %s", self.url, exc)
            return False
        return response.status_code == 200
