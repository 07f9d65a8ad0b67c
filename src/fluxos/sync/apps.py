"""What the Syncthing controller needs to know of the apps, as small protocols.

The apps runtime (which containers run here, where their volumes are), the registry
(where else an app runs) and the other nodes (their device ids, what they run) each
answer one question. The controller answers one back: may this component run here now
(`RunGate`), which the runtime's reconciler obeys before it starts a container.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from fluxos.errors import FluxError

log = logging.getLogger(__name__)
DEFAULT_API_PORT = 16127


class SyncMode(StrEnum):
    """The flags of a component's primary `containerData` mount (files-and-sync.md §1.5)."""

    SHARED = "s"  # synced both ways at once; every instance runs
    REPLICATED = "r"  # every instance runs, each only once its copy is in sync
    PRIMARY = "g"  # one instance runs (the primary); the others are standbys

    @property
    def gated(self) -> bool:
        """Whether the container waits for a verified copy before it runs."""
        return self is not SyncMode.SHARED


_FLAGS = re.compile(r"^[rgs]+$")


def sync_mode(container_data: str) -> SyncMode | None:
    """The sync mode of a component from its `containerData` (only the primary mount,
    entry 0, may carry flags; a flag segment is letters r/g/s only). `g` wins over `r`,
    `r` over `s`, as upstream checks them in that order."""
    primary = container_data.split("|", 1)[0]
    flags, sep, _path = primary.partition(":")
    if not sep or not _FLAGS.match(flags):
        return None
    for mode in (SyncMode.PRIMARY, SyncMode.REPLICATED, SyncMode.SHARED):
        if mode.value in flags:
            return mode
    return None


_ZEL_NAMES = ("KadenaChainWebNode", "FoldingAtHomeB")


def app_identifier(app: str, component: str | None = None) -> str:
    """`flux<component>_<app>` (the container name and the Syncthing folder id); v1-3
    apps have no component: `flux<app>`, `zel…`/`flux…` names kept, two legacy names
    get `zel`."""
    name = f"{component}_{app}" if component else app
    if not component:
        if name.startswith(("zel", "flux")):
            return name
        if name in _ZEL_NAMES:
            return f"zel{name}"
    return f"flux{name}"


@dataclass(frozen=True)
class SyncedComponent:
    """One installed component whose primary volume is synced."""

    app: str
    component: str  # "" for a v1-3 app
    mode: SyncMode
    volume: Path  # the component's volume root, a mount point (the folder syncs all of it)
    running: bool  # its container runs now
    operator_stopped: bool = False  # stopped by the operator: never started by sync
    container: str = ""  # the runtime's container name, when it knows it

    @property
    def app_id(self) -> str:
        """The container name, which is also the Syncthing folder id."""
        return self.container or app_identifier(self.app, self.component or None)


@dataclass(frozen=True)
class Location:
    """One node that runs (or installs) an app: `ip:port` of its API."""

    address: str
    running_since: int | None = None  # ms; None when not known


class LocalApps(Protocol):
    """The apps runtime: the synced components installed on this node."""

    async def synced_components(self) -> list[SyncedComponent] | None:
        """Every installed component with an s:/r:/g: volume; None while the runtime
        cannot tell (not loaded yet, install/removal/redeploy in progress): the
        controller then changes nothing."""
        ...


class AppLocations(Protocol):
    """The registry: which nodes run each app (this one included)."""

    async def locations(self, app: str) -> list[Location]: ...


class Peers(Protocol):
    """Other nodes, over their API (`/syncthing/deviceid`, `/apps/listrunningapps`)."""

    async def device_id(self, address: str) -> str | None:
        """The peer's Syncthing device id, None when it does not answer."""
        ...

    async def runs(self, address: str, app_id: str) -> bool | None:
        """Whether the peer runs that component now; None when it does not answer."""
        ...


@dataclass(frozen=True)
class Gate:
    """May the component run here, and why (or why not). `run` None: not decided yet
    (the controller has not checked it since the node started): leave it as it is."""

    run: bool | None
    reason: str


class RunGate(Protocol):
    """What the reconciler reads before starting a synced component."""

    def may_run(self, app_id: str) -> bool | None: ...


LocationRows = Callable[[str], Awaitable[list[dict[str, Any]]]]


class RegistryLocations:
    """`AppLocations` from the global apps registry: the nodes whose `fluxapprunning`
    lists the app (upstream's `zelappslocation`; g:/r: standbys are advertised too), as
    `ip:port` (a bare ip means port 16127). A registry that cannot answer is logged and
    lists no other node for that pass."""

    def __init__(self, rows: LocationRows) -> None:
        self._rows = rows

    async def locations(self, app: str) -> list[Location]:
        try:
            rows = await self._rows(app)
        except FluxError as error:
            log.warning("app locations of %s unavailable (%s): no peers this pass", app, error)
            return []
        found: dict[str, Location] = {}
        for row in rows:
            ip = row.get("ip")
            if not isinstance(ip, str) or not ip or row.get("name", app) != app:
                continue
            address = ip if ":" in ip else f"{ip}:{DEFAULT_API_PORT}"
            found.setdefault(address, Location(address, _iso_ms(row.get("runningSince"))))
        return list(found.values())


def _iso_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


class OnlyThisNode:
    """`AppLocations` until the registry lists app locations (issue 13): every app is
    known to run here only (a lone instance seeds its own folder; nothing is shared)."""

    def __init__(self, own_address: Callable[[], Awaitable[str | None]]) -> None:
        self.own_address = own_address

    async def locations(self, app: str) -> list[Location]:
        address = await self.own_address()
        return [Location(address)] if address else []
