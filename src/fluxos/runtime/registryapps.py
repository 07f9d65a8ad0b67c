"""The runtime's view of the global apps registry (`fluxos.apps`, issue 13): what the
spawner reads (global specs with their hash and expiry height, running locations with
`runningSince`, installing claims with `broadcastedAt`) and which spec
`/apps/installapplocally` means (a global spec by name, else a permanent message by hash).
"""

from __future__ import annotations

import json

from fluxos.apps.specs import AppSpec
from fluxos.clock import Clock
from fluxos.runtime.spawnrules import GlobalApp, Placement
from fluxos.storage.applocations import AppLocationsStore
from fluxos.storage.apps import AppsStore


class RegistryGlobalApps:
    def __init__(self, store: AppsStore, locations: AppLocationsStore, clock: Clock) -> None:
        self.store = store
        self.locations = locations
        self.clock = clock

    async def global_apps(self) -> list[GlobalApp]:
        records = await self.store.global_specs(message_hash=None, owner=None, name=None)
        return [
            GlobalApp(
                {**json.loads(record.spec), "hash": record.hash, "height": record.height},
                record.hash,
                record.expire_height,
            )
            for record in records
        ]

    async def running(self, name: str) -> list[Placement]:
        rows = await self.locations.locations(self.clock.millis(), name)
        return [Placement(str(row.ip), row.running_since) for row in rows]

    async def installing(self, name: str) -> list[Placement]:
        rows = await self.locations.installing(self.clock.millis(), name)
        return [Placement(str(row.ip), row.broadcasted_at) for row in rows]

    async def spec_for_install(self, name_or_hash: str) -> AppSpec | None:
        record = await self.store.global_spec(name_or_hash)
        if record is not None:
            return {**json.loads(record.spec), "hash": record.hash, "height": record.height}
        message = await self.store.permanent(name_or_hash)
        if message is None:
            return None
        return {**json.loads(message.spec), "hash": message.hash, "height": message.height}

    async def global_specs(self) -> list[AppSpec]:
        """The global specs as `/apps/availableapps` lists them (with hash and height)."""
        return [app.spec for app in await self.global_apps()]

    async def addresses(self, app: str) -> list[str]:
        """`ip:port` of every node the registry lists running `app` (global commands)."""
        return [placement.ip for placement in await self.running(app)]
