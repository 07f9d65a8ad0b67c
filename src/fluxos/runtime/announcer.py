"""What this node tells the network about its apps (apps.md §8.1-§8.2): an install that
failed, an app removed, apps running here. The global apps registry (issue 13) turns
these gossip messages into locations; this module only builds and sends them.

A broadcast that cannot go out (the node is not a confirmed fluxnode yet, no peers)
never fails the install or removal it reports: it is logged with why, and counted.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from fluxos.apps.specs import AppSpec, components
from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.runtime.components import container_names
from fluxos.runtime.engine import DockerEngine
from fluxos.storage.localapps import LocalApps
from fluxos.sync.apps import sync_mode

log = logging.getLogger(__name__)


class Broadcaster(Protocol):
    async def broadcast(self, data: dict[str, Any]) -> Any: ...


OwnRecord = Callable[[Any], Awaitable[None]]
"""Stores this node's own sent message (the signed envelope) as the registry stores a
peer's: upstream records its own running and installing messages before sending them."""


def iso(seconds: float) -> str:
    """A JavaScript Date's ISO string: milliseconds and `Z`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class NetworkAnnouncer:
    def __init__(
        self,
        network: Broadcaster,
        apps: LocalApps,
        clock: Clock,
        own_ip: Callable[[], str],
        os_uptime: Callable[[], float],
        static_ip: Callable[[], bool],
        engine: DockerEngine,
        *,
        interval: float = 3600.0,
        record: OwnRecord | None = None,
    ) -> None:
        self.network = network
        self.apps = apps
        self.clock = clock
        self.own_ip = own_ip
        self.os_uptime = os_uptime
        self.static_ip = static_ip
        self.engine = engine
        self.interval = interval
        self.record = record
        self.failures: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()

    async def _send(self, data: dict[str, Any]) -> None:
        try:
            envelope = await self.network.broadcast(data)
        except FluxError as error:
            self.failures[data["type"]] += 1
            log.warning("%s not broadcast: %s", data["type"], error.message)
            return
        self.sent[data["type"]] += 1
        if self.record is not None:
            await self.record(envelope)

    async def installing(self, app: str) -> None:
        await self._send(
            {
                "type": "fluxappinstalling",
                "version": 1,
                "name": app,
                "ip": self.own_ip(),
                "broadcastedAt": self.clock.millis(),
            }
        )

    async def install_failed(self, spec: AppSpec, error: FluxError) -> None:
        envelope = {"status": "error", "data": error.to_data()}
        await self._send(
            {
                "type": "fluxappinstallingerror",
                "version": 1,
                "name": spec["name"],
                "hash": spec.get("hash", ""),
                "ip": self.own_ip(),
                "error": json.dumps(envelope, separators=(",", ":")),
                "broadcastedAt": self.clock.millis(),
            }
        )

    async def removed(self, app: str) -> None:
        await self._send(
            {
                "type": "fluxappremoved",
                "version": 1,
                "appName": app,
                "ip": self.own_ip(),
                "broadcastedAt": self.clock.millis(),
            }
        )

    async def running(self, app: str) -> None:
        await self.announce_running()

    async def run(self) -> None:
        """The background loop: fluxapprunning every `interval` (upstream: hourly)."""
        while True:
            await self.clock.sleep(self.interval)
            try:
                await self.announce_running()
            except FluxError as error:  # Docker away: nothing to say this time
                log.info("fluxapprunning skipped: %s", error.message)

    async def announce_running(self) -> None:
        """fluxapprunning v2 of every app whose components all run, and of every app with
        a g:/r: volume, which counts as running while a component is stopped on purpose
        (a standby): its peers replicate to it only if it is a location, as upstream
        advertises them. Never an empty list."""
        up = {
            str(name).lstrip("/")
            for summary in await self.engine.list_containers(all=False)
            for name in summary.get("Names") or []
        }
        apps = []
        for spec in await self.apps.all():
            if not set(container_names(spec)) <= up and not _gated_sync(spec):
                continue
            since = await self.apps.installed_at(spec["name"]) or self.clock.time()
            apps.append(
                {"name": spec["name"], "hash": spec.get("hash", ""), "runningSince": iso(since)}
            )
        if not apps:
            return
        await self._send(
            {
                "type": "fluxapprunning",
                "version": 2,
                "apps": apps[:200],
                "ip": self.own_ip(),
                "broadcastedAt": self.clock.millis(),
                "osUptime": int(self.os_uptime()),
                "staticIp": self.static_ip(),
            }
        )


def _gated_sync(spec: AppSpec) -> bool:
    """Whether a component's primary volume is g: or r: (its instance may wait stopped)."""
    for component in components(spec):
        mode = sync_mode(str(component.get("containerData", "")))
        if mode is not None and mode.gated:
            return True
    return False
