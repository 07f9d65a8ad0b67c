"""Control routes with `global=true` (apps.md §11.7): the command goes to every node the
registry lists as running the app — `GET http://<ip>:<port>/apps/<command>/<app>[/<force>]`
with the caller's own `zelidauth`, 500 ms apart, fire-and-forget — and the caller is told
`<app> queried for global <command>` at once. Each node checks the caller's permission
itself, so this node forwards no authority of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import quote

import httpx

from fluxos.errors import NotFound

log = logging.getLogger(__name__)
DEFAULT_API_PORT = 16127

SPACING_SECONDS = 0.5


class Locations(Protocol):
    """Where the registry says an app runs: `ip[:port]` per running copy."""

    async def addresses(self, app: str) -> list[str]: ...


class GlobalCommands:
    def __init__(
        self,
        locations: Locations,
        http: Callable[[], httpx.AsyncClient],
        *,
        spacing: float = SPACING_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.locations = locations
        self.http = http
        self.spacing = spacing
        self.sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, command: str, target: str, zelidauth: str | None, *extra: str) -> None:
        """Start forwarding `command` for `target` (`app` or `component_app`) to every
        node running the app; returns once the sending has started."""
        app = target.split("_", 1)[1] if "_" in target else target
        addresses = await self.locations.addresses(app)
        if not addresses:
            raise NotFound(f"Flux App {app} is not running on any node of the network")
        suffix = "".join(f"/{quote(part, safe='')}" for part in extra)
        urls = [f"{_base(a)}/apps/{command}/{quote(target, safe='')}{suffix}" for a in addresses]
        task = asyncio.create_task(self._forward(urls, zelidauth or ""))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, urls: list[str], zelidauth: str) -> None:
        client = self.http()
        for number, url in enumerate(urls):
            if number:
                await self.sleep(self.spacing)
            try:
                reply = await client.get(url, headers={"zelidauth": zelidauth}, timeout=30)
                log.info("global command %s: HTTP %s", url, reply.status_code)
            except httpx.HTTPError as error:  # fire-and-forget: the next node still hears
                log.info("global command %s failed: %s", url, error)

    async def settle(self) -> None:
        """Wait for the commands in flight (a node stopping, a test)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _base(address: str) -> str:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return f"http://{address}:{DEFAULT_API_PORT}"
    return f"http://{host}:{port}"
