"""Where an app component's files live: its volume root, derived from the app and the
component by name, never by matching a pattern (files-and-sync.md §0, §3).

Upstream found the volume with an unanchored regex built from the `component` parameter
over `df` output, so `component=x|` selected another app's volume. Here both names must be
plain alphanumeric (as app specs require), the app must be installed here with that
component in its spec, and the directory is the apps runtime's own for that container
(`<apps dir>/flux<component>_<app>`, a mounted volume).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from fluxos.apps.specs import components, is_compose
from fluxos.errors import BadParameter, NotFound
from fluxos.runtime.components import container_name

_NAME = re.compile(r"[a-zA-Z0-9]+")
VOLUME_NOT_FOUND = "Application volume not found"


def check_name(value: str, parameter: str) -> str:
    if not _NAME.fullmatch(value):
        raise BadParameter(f"{parameter} must contain only letters and digits, got {value!r}")
    return value


def _is_volume(path: Path, require_mount: bool) -> bool:
    """A real directory (not a link to one), and a mount point if required."""
    if path.is_symlink() or not path.is_dir():
        return False
    return os.path.ismount(path) or not require_mount


class InstalledSpecs(Protocol):
    """The apps installed on this node (the runtime's `LocalApps`)."""

    async def find(self, name: str) -> dict[str, Any] | None: ...


class AppVolumes(Protocol):
    """The volume root of the caller's app component (files-and-sync.md §4)."""

    async def component_volume(self, app_name: str, component: str) -> Path: ...

    async def app_volumes(self, app_name: str) -> dict[str, Path]: ...


class InstalledAppVolumes:
    """The runtime's volumes: the app must be installed here, the component one of its
    spec's (`null` or the app's name for a v1-3 app's single volume), and the directory is
    the runtime's `directory(container_name(spec, component))`. With `require_mount` it
    must be a mount point (the runtime's loop-mounted ext4 image): a bare mountpoint left
    by an unmounted volume is refused. Nothing is matched by pattern."""

    def __init__(
        self,
        apps: InstalledSpecs,
        directory: Callable[[str], Path],
        *,
        require_mount: bool = True,
    ) -> None:
        self.apps = apps
        self.directory = directory
        self.require_mount = require_mount

    async def _spec(self, app_name: str) -> dict[str, Any]:
        check_name(app_name, "appname")
        spec = await self.apps.find(app_name)
        if spec is None:
            raise NotFound(VOLUME_NOT_FOUND)
        return spec

    def _volume(self, spec: dict[str, Any], component: dict[str, Any]) -> Path | None:
        volume = self.directory(container_name(spec, component))
        return volume if _is_volume(volume, self.require_mount) else None

    async def component_volume(self, app_name: str, component: str) -> Path:
        if component != "null":
            check_name(component, "component")
        spec = await self._spec(app_name)
        if is_compose(spec):
            chosen = [c for c in components(spec) if str(c.get("name")) == component]
        else:
            chosen = [spec] if component in ("null", str(spec["name"])) else []
        volume = self._volume(spec, chosen[0]) if chosen else None
        if volume is None:
            raise NotFound(VOLUME_NOT_FOUND)
        return volume

    async def app_volumes(self, app_name: str) -> dict[str, Path]:
        """Every mounted component volume of the app, by component name."""
        spec = await self._spec(app_name)
        found: dict[str, Path] = {}
        for component in components(spec):
            name = str(component.get("name")) if is_compose(spec) else "null"
            volume = self._volume(spec, component)
            if volume is not None:
                found[name] = volume
        return found
