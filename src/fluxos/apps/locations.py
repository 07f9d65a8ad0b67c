"""Where apps run, install and failed to install, from the nodes' signed gossip (§8).

The envelope's signature already ties the message to the node at its `ip`; these
handlers check the payload's shape and freshness, store it with its expiry, and answer
whether it changed anything (what makes the gossip layer announce it on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fluxos.clock import Clock
from fluxos.network.gossip import ReceivedMessage
from fluxos.network.service import NetworkService
from fluxos.storage.applocations import AppLocationsStore
from fluxos.wire.jsvalues import is_number

logger = logging.getLogger(__name__)

FRESH_MS = 5 * 60_000
REMOVAL_FRESH_MS = 65 * 60_000
RUNNING_LIFETIME_MS = 125 * 60_000
INSTALLING_LIFETIME_MS = 15 * 60_000
ERROR_LIFETIME_MS = 24 * 3_600_000
SIGTERM_GRACE_MS = 420_000
MAX_APPS_PER_NODE = 200


def iso(ms: int | None) -> str | None:
    """A JavaScript Date as Express serialises it: `2024-01-02T03:04:05.678Z`."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass
class LocationCounters:
    stored: int = 0
    unchanged: int = 0
    refused: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


class LocationBook:
    """The runtime-state gossip handlers and the location queries."""

    def __init__(
        self,
        store: AppLocationsStore,
        clock: Clock,
        *,
        running_lifetime_ms: int = RUNNING_LIFETIME_MS,
    ) -> None:
        self._store = store
        self._clock = clock
        self.running_lifetime_ms = running_lifetime_ms  # shorter on a devnet cluster
        self.counters = LocationCounters()

    def subscribe(self, network: NetworkService) -> None:
        network.subscribe("fluxapprunning", self.on_running)
        network.subscribe("fluxappinstalling", self.on_installing)
        network.subscribe("fluxappinstallingerror", self.on_installing_error)
        network.subscribe("fluxappremoved", self.on_removed)
        network.subscribe("fluxipchanged", self.on_ip_changed)
        network.subscribe("fluxnodesigterm", self.on_sigterm)

    def _refuse(self, received: ReceivedMessage, reason: str) -> bool:
        self.counters.refuse(reason)
        logger.info("%s from %s ignored: %s", received.type, received.peer, reason)
        return False

    def _broadcasted_at(self, data: dict[str, Any], window_ms: int) -> int | None:
        value = data.get("broadcastedAt")
        if not is_number(value):
            return None
        stamp = int(value)  # type: ignore[arg-type]
        return stamp if stamp + window_ms >= self._clock.millis() else None

    def _counted(self, changed: bool) -> bool:
        if changed:
            self.counters.stored += 1
        else:
            self.counters.unchanged += 1
        return changed

    async def on_running(self, received: ReceivedMessage) -> bool:
        data = received.data
        at = self._broadcasted_at(data, FRESH_MS)
        if at is None:
            return self._refuse(received, "broadcastedAt missing or older than 5 minutes")
        ip = data.get("ip")
        if not isinstance(ip, str) or not ip:
            return self._refuse(received, "no ip")
        if data.get("version") == 2:
            apps = data.get("apps")
            if not isinstance(apps, list) or len(apps) > MAX_APPS_PER_NODE:
                return self._refuse(received, f"apps must be a list of at most {MAX_APPS_PER_NODE}")
            if not apps:
                return self._counted(bool(await self._store.remove_locations_of_ip(ip, at)))
        else:
            apps = [data]
        changed = False
        for app in apps:
            if not isinstance(app, dict):
                continue
            name, app_hash = app.get("name"), app.get("hash")
            if not isinstance(name, str) or not isinstance(app_hash, str):
                self.counters.refuse("app entry without name or hash")
                continue
            uptime = data.get("osUptime")
            changed = (
                await self._store.put_location(
                    name,
                    ip,
                    app_hash=app_hash,
                    broadcasted_at=at,
                    expire_at=at + self.running_lifetime_ms,
                    running_since=parse_iso(app.get("runningSince")),
                    os_uptime=float(uptime) if is_number(uptime) else None,  # type: ignore[arg-type]
                    static_ip=data.get("staticIp") is True,
                )
                or changed
            )
        return self._counted(changed)

    async def on_installing(self, received: ReceivedMessage) -> bool:
        data = received.data
        at = self._broadcasted_at(data, FRESH_MS)
        name, ip = data.get("name"), data.get("ip")
        if at is None or not isinstance(name, str) or not isinstance(ip, str):
            return self._refuse(received, "needs name, ip and a broadcastedAt of the last 5 min")
        return self._counted(
            await self._store.put_installing(name, ip, at, at + INSTALLING_LIFETIME_MS)
        )

    async def on_installing_error(self, received: ReceivedMessage) -> bool:
        data = received.data
        at = self._broadcasted_at(data, FRESH_MS)
        name, ip, app_hash = data.get("name"), data.get("ip"), data.get("hash")
        error = data.get("error")
        if (
            at is None
            or not isinstance(name, str)
            or not isinstance(ip, str)
            or not isinstance(app_hash, str)
            or not isinstance(error, str)
        ):
            return self._refuse(
                received, "needs name, hash, ip, error and a broadcastedAt of the last 5 min"
            )
        return self._counted(
            await self._store.put_installing_error(
                name,
                app_hash,
                ip,
                error,
                at,
                at + ERROR_LIFETIME_MS,  # type: ignore[arg-type]
            )
        )

    async def on_removed(self, received: ReceivedMessage) -> bool:
        data = received.data
        at = self._broadcasted_at(data, REMOVAL_FRESH_MS)
        name, ip = data.get("appName"), data.get("ip")
        if at is None or not isinstance(name, str) or not isinstance(ip, str):
            return self._refuse(
                received, "needs appName, ip and a broadcastedAt of the last 65 min"
            )
        await self._store.remove_location(name, ip)
        return True

    async def on_ip_changed(self, received: ReceivedMessage) -> bool:
        data = received.data
        at = self._broadcasted_at(data, REMOVAL_FRESH_MS)
        old, new = data.get("oldIP"), data.get("newIP")
        if at is None or not isinstance(old, str) or not isinstance(new, str) or old == new:
            return self._refuse(received, "needs distinct oldIP and newIP, broadcastedAt in 65 min")
        moved = await self._store.move_ip(old, new)
        logger.info("node %s is now %s: %d app locations moved", old, new, moved)
        return True

    async def on_sigterm(self, received: ReceivedMessage) -> bool:
        data = received.data
        ip = data.get("ip")
        at = data.get("broadcastedAt")
        if not isinstance(ip, str) or not is_number(at):
            return self._refuse(received, "needs ip and broadcastedAt")
        if not await self._store.has_locations_at(ip, self._clock.millis()):
            return False
        await self._store.shorten_ip_expiry(ip, int(at) + SIGTERM_GRACE_MS)  # type: ignore[arg-type]
        return True

    # -- queries -------------------------------------------------------------------------
    async def clear(self) -> None:
        """Forget every location, claim and error (a reindex)."""
        await self._store.clear()

    async def locations(self, name: str | None = None) -> list[dict[str, Any]]:
        rows = await self._store.locations(self._clock.millis(), name)
        return [
            {
                "name": row.name,
                "hash": row.hash,
                "ip": row.ip,
                "broadcastedAt": iso(row.broadcasted_at),
                "expireAt": iso(row.expire_at),
                "runningSince": iso(row.running_since),
                "osUptime": row.os_uptime,
                "staticIp": bool(row.static_ip),
            }
            for row in rows
        ]

    async def installing(self, name: str | None = None) -> list[dict[str, Any]]:
        rows = await self._store.installing(self._clock.millis(), name)
        return [
            {
                "name": row.name,
                "ip": row.ip,
                "broadcastedAt": iso(row.broadcasted_at),
                "expireAt": iso(row.expire_at),
            }
            for row in rows
        ]

    async def installing_errors(self, name: str | None = None) -> list[dict[str, Any]]:
        rows = await self._store.installing_errors(self._clock.millis(), name)
        return [
            {
                "name": row.name,
                "hash": row.hash,
                "ip": row.ip,
                "error": row.error,
                "broadcastedAt": iso(row.broadcasted_at),
            }
            for row in rows
        ]
