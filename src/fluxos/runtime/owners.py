"""App owners as the apps installed here know them (until the global registry answers)."""

from __future__ import annotations

from fluxos.storage.localapps import LocalApps


class InstalledAppOwners:
    def __init__(self, apps: LocalApps) -> None:
        self.apps = apps

    async def owner_of(self, app_name: str) -> str | None:
        name = app_name.split("_", 1)[1] if "_" in app_name else app_name
        spec = await self.apps.find(name)
        owner = spec.get("owner") if spec else None
        return str(owner) if owner else None
