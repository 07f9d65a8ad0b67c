"""App owners for the appowner permission level: the global registry, then the apps
installed here."""

from __future__ import annotations

from fluxos.identity import AppOwners
from fluxos.storage.localapps import LocalApps


class InstalledAppOwners:
    def __init__(self, apps: LocalApps) -> None:
        self.apps = apps

    async def owner_of(self, app_name: str) -> str | None:
        name = app_name.split("_", 1)[1] if "_" in app_name else app_name
        spec = await self.apps.find(name)
        owner = spec.get("owner") if spec else None
        return str(owner) if owner else None


class RegistryThenInstalled:
    """The registry's owner of an app, else the owner in the spec installed here."""

    def __init__(self, registry: AppOwners, installed: AppOwners) -> None:
        self.registry = registry
        self.installed = installed

    async def owner_of(self, app_name: str) -> str | None:
        return await self.registry.owner_of(app_name) or await self.installed.owner_of(app_name)
