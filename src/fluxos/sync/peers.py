"""Other nodes as the Syncthing controller asks them, over their public API: a peer's
device id at `/syncthing/deviceid`, what it runs at `/apps/listrunningapps` (upstream's
calls, 5 s each). Each call asks anew: whether a peer answers now is part of the answer
(the controller keeps the last device id each address gave)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

TIMEOUT = 5.0


class HttpPeers:
    """`Peers` over HTTP to each node's API port."""

    def __init__(self, http: httpx.AsyncClient | None = None) -> None:
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _data(self, address: str, path: str) -> Any:
        try:
            response = await self._http.get(f"http://{address}{path}", timeout=TIMEOUT)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            log.info("peer %s did not answer %s: %s", address, path, error or type(error).__name__)
            return None
        if not isinstance(body, dict) or body.get("status") != "success":
            log.info("peer %s answered %s with an error: %s", address, path, str(body)[:200])
            return None
        return body.get("data")

    async def device_id(self, address: str) -> str | None:
        data = await self._data(address, "/syncthing/deviceid")
        return data if isinstance(data, str) and data else None

    async def runs(self, address: str, app_id: str) -> bool | None:
        data = await self._data(address, "/apps/listrunningapps")
        if not isinstance(data, list):
            return None
        for container in data:
            names = container.get("Names") if isinstance(container, dict) else None
            if isinstance(names, list) and names and str(names[0]).lstrip("/") == app_id:
                return True
        return False
