"""The runtime's answer to the Syncthing controller (`fluxos.sync.apps.LocalApps`): the
installed components whose primary `containerData` mount is `s:`, `r:` or `g:`, their
volume directories, whether their container runs and whether the operator stopped it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fluxos.apps.specs import components
from fluxos.errors import FluxError, NotFound
from fluxos.runtime.components import container_name
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.volumes import Volumes
from fluxos.storage.localapps import STOPPED, LocalApps
from fluxos.sync.apps import SyncedComponent, sync_mode

log = logging.getLogger(__name__)


class RuntimeSyncedApps:
    def __init__(
        self,
        apps: LocalApps,
        engine: DockerEngine,
        volumes: Volumes,
        held: Callable[[str], bool] = lambda _app: False,
    ) -> None:
        """`held(app)`: the app is under a backup or restore; its folders are left out
        (so taken out of Syncthing) until it is released."""
        self.apps = apps
        self.engine = engine
        self.volumes = volumes
        self.held = held

    async def synced_components(self) -> list[SyncedComponent] | None:
        found: list[SyncedComponent] = []
        try:
            wishes = await self.apps.desired()
            for spec in await self.apps.all():
                if self.held(str(spec["name"])):
                    continue
                for component in components(spec):
                    mode = sync_mode(str(component.get("containerData") or ""))
                    if mode is None:
                        continue
                    name = container_name(spec, component)
                    found.append(
                        SyncedComponent(
                            app=str(spec["name"]),
                            component=str(component.get("name") or ""),
                            mode=mode,
                            volume=self.volumes.directory(name),
                            running=await self._running(name),
                            operator_stopped=wishes.get(name) == STOPPED,
                            container=name,
                        )
                    )
        except FluxError as error:
            log.info("synced apps unknown for now (%s): folders left as they are", error.message)
            return None
        return found

    async def _running(self, name: str) -> bool:
        try:
            state = (await self.engine.inspect(name))["State"]
        except NotFound:
            return False
        return state.get("Status") == "running"
