"""Where an app component's files live: its volume root, derived from the app and the
component by name, never by matching a pattern (files-and-sync.md §0, §3).

Upstream found the volume with an unanchored regex built from the `component` parameter
over `df` output, so `component=x|` selected another app's volume. Here both names must be
plain alphanumeric (as app specs require), the directory is computed as
`<appsFolder>/flux<component>_<app>`, and an `AppComponents` source (the apps runtime) may
require the component to exist in the app's spec.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from fluxos.errors import BadParameter, NotFound

_NAME = re.compile(r"[a-zA-Z0-9]+")
_ZEL_PREFIXED = frozenset({"KadenaChainWebNode", "FoldingAtHomeB"})
VOLUME_NOT_FOUND = "Application volume not found"
SHARE_FOLDER = "ZelShare"


def app_identifier(name: str) -> str:
    """Upstream's container and volume name of an app (or `<component>_<app>`)."""
    if name.startswith(("zel", "flux")):
        return name
    if name in _ZEL_PREFIXED:
        return f"zel{name}"
    return f"flux{name}"


def component_identifier(app_name: str, component: str) -> str:
    """`flux<component>_<app>`; the literal component `null` names a v<=3 app's one volume."""
    if component == "null":
        return app_identifier(app_name)
    return app_identifier(f"{component}_{app_name}")


def check_name(value: str, parameter: str) -> str:
    if not _NAME.fullmatch(value):
        raise BadParameter(f"{parameter} must contain only letters and digits, got {value!r}")
    return value


def _is_volume(path: Path, require_mount: bool) -> bool:
    """A real directory (not a link to one), and a mount point if required."""
    if path.is_symlink() or not path.is_dir():
        return False
    return os.path.ismount(path) or not require_mount


class AppComponents(Protocol):
    """The apps runtime's view: the component names of an installed app (None if the app is
    not installed here)."""

    async def components_of(self, app_name: str) -> list[str] | None: ...


class AppVolumes(Protocol):
    """The volume root of the caller's app component (files-and-sync.md §4)."""

    async def component_volume(self, app_name: str, component: str) -> Path: ...

    async def app_volumes(self, app_name: str) -> dict[str, Path]: ...


class AppsFolderVolumes:
    """Volumes as directories `<apps_folder>/flux<component>_<app>`.

    With `components` the component must be one of the installed app's; with
    `require_mount` the directory must be a mount point (a node's real loop-mounted
    volumes; a directory left behind by an unmounted volume is refused).
    """

    def __init__(
        self,
        apps_folder: Path,
        components: AppComponents | None = None,
        *,
        require_mount: bool = False,
    ) -> None:
        self.apps_folder = Path(os.path.abspath(apps_folder))
        self.components = components
        self.require_mount = require_mount

    async def component_volume(self, app_name: str, component: str) -> Path:
        check_name(app_name, "appname")
        if component != "null":
            check_name(component, "component")
        if self.components is not None:
            known = await self.components_of(app_name)
            if component not in known:
                raise NotFound(VOLUME_NOT_FOUND)
        volume = self.apps_folder / component_identifier(app_name, component)
        if not _is_volume(volume, self.require_mount):
            raise NotFound(VOLUME_NOT_FOUND)
        return volume

    async def components_of(self, app_name: str) -> list[str]:
        if self.components is None:
            suffix = f"_{app_name}"
            names = []
            if self.apps_folder.is_dir():
                for entry in sorted(os.listdir(self.apps_folder)):
                    if entry.startswith("flux") and entry.endswith(suffix):
                        name = entry[len("flux") : -len(suffix)]
                        if _NAME.fullmatch(name):
                            names.append(name)
            return names
        known = await self.components.components_of(app_name)
        return list(known or [])

    async def app_volumes(self, app_name: str) -> dict[str, Path]:
        """Every component volume of the app that exists, by component name."""
        check_name(app_name, "appname")
        volumes: dict[str, Path] = {}
        for component in await self.components_of(app_name):
            try:
                volumes[component] = await self.component_volume(app_name, component)
            except NotFound:
                continue
        return volumes
