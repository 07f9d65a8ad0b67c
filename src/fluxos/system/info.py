"""`/flux/info`: everything about the node in one reply (spec system.md §2.1).

Upstream builds it part by part and turns the whole reply into an error when one part
fails (a fluxd that is not a fluxnode meant no info at all). Here a failing part is
`null` and the reply carries `errors: [{part, message}]`, so a dashboard still sees the
rest. The parts are gathered concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fluxos.errors import FluxError
from fluxos.system.components import ComponentProbe, database_version, os_release

log = logging.getLogger(__name__)

PART_TIMEOUT = 10.0
Part = Callable[[], Awaitable[Any]]


class Rpc(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


class AppsReport(Protocol):
    """What the apps area tells `/flux/info` (filled in by the apps runtime and registry)."""

    async def flux_usage(self) -> Any: ...
    async def running_apps(self) -> Any: ...
    async def resources(self) -> Any: ...
    async def dos_state(self) -> dict[str, Any]: ...
    async def hashes(self) -> tuple[int, int]:
        """(app hashes from height 694000 on, how many of them have their message)."""
        ...


class NoAppsRuntime:
    """The apps report of a node whose apps runtime and registry are not wired yet."""

    async def flux_usage(self) -> Any:
        raise FluxError("the apps runtime does not run on this node yet")

    async def running_apps(self) -> Any:
        raise FluxError("the apps runtime does not run on this node yet")

    async def resources(self) -> Any:
        raise FluxError("the apps runtime does not run on this node yet")

    async def dos_state(self) -> dict[str, Any]:
        return {"dosState": 0, "dosMessage": None}

    async def hashes(self) -> tuple[int, int]:
        raise FluxError("the apps registry does not run on this node yet")


@dataclass
class InfoSources:
    """Where each part of the reply comes from (wired by the node)."""

    fluxd: Rpc
    fluxbench: Rpc
    zmq_enabled: Callable[[], bool]
    version: Callable[[], str]
    python_version: Callable[[], str]
    timezone: Callable[[], str]
    zelid: Callable[[], str]
    development: Callable[[], bool]
    database_url: Callable[[], str]
    own_ip: Callable[[], Awaitable[str | None]]
    static_ip: Callable[[], bool]
    upnp: Callable[[], bool]
    max_ip_changes: Callable[[], int]
    dos: Callable[[], dict[str, Any]]
    peers: Callable[[], tuple[int, int]]  # (outbound, inbound)
    scanned_height: Callable[[], Awaitable[dict[str, int]]]
    geolocation: Callable[[], Awaitable[Any]]
    components: ComponentProbe
    apps: AppsReport


class InfoBuilder:
    def __init__(self, sources: InfoSources) -> None:
        self.sources = sources

    async def build(self) -> dict[str, Any]:
        s = self.sources
        errors: list[dict[str, str]] = []
        parts: dict[str, Part] = {
            "daemon.info": self._daemon_info,
            "node.status": lambda: s.fluxd.call("getfluxnodestatus"),
            "benchmark.info": lambda: s.fluxbench.call("getinfo"),
            "benchmark.status": lambda: s.fluxbench.call("getstatus"),
            "benchmark.bench": lambda: s.fluxbench.call("getbenchmarks"),
            "flux.syncthingVersion": s.components.syncthing_version,
            "flux.dockerVersion": self._docker_version,
            "flux.ip": s.own_ip,
            "flux.explorerScannedHeigth": s.scanned_height,
            "flux.appsDos": s.apps.dos_state,
            "apps.fluxusage": s.apps.flux_usage,
            "apps.runningapps": s.apps.running_apps,
            "apps.resources": s.apps.resources,
            "geolocation": s.geolocation,
            "appsHashes": s.apps.hashes,
        }
        names = list(parts)
        results = await asyncio.gather(*(self._part(name, parts[name]) for name in names))
        values: dict[str, Any] = {}
        for name, (value, problem) in zip(names, results, strict=True):
            values[name] = value
            if problem is not None:
                errors.append({"part": name, "message": problem})
        outbound, inbound = s.peers()
        flux: dict[str, Any] = {
            "version": s.version(),
            "nodeJsVersion": s.python_version(),
            "pythonVersion": s.python_version(),
            "syncthingVersion": values["flux.syncthingVersion"],
            "dockerVersion": values["flux.dockerVersion"],
            "mongoDbVersion": database_version(s.database_url()),
            **os_release(),
            "ip": values["flux.ip"],
            "staticIp": s.static_ip(),
            "upnp": s.upnp(),
            "maxNumberOfIpChanges": s.max_ip_changes(),
            "zelid": s.zelid(),
            "timezone": s.timezone(),
            "dos": s.dos(),
            "appsDos": values["flux.appsDos"],
            "development": s.development(),
            "explorerScannedHeigth": values["flux.explorerScannedHeigth"],
            "numberOfConnectionsOut": outbound,
            "numberOfConnectionsIn": inbound,
        }
        if os.environ.get("FLUXOS_VERSION"):
            flux["arcaneVersion"] = os.environ["FLUXOS_VERSION"]
        if os.environ.get("FLUXOS_HUMAN_VERSION"):
            flux["arcaneHumanVersion"] = os.environ["FLUXOS_HUMAN_VERSION"]
        hashes = values["appsHashes"]
        info: dict[str, Any] = {
            "daemon": {"info": values["daemon.info"], "zmqEnabled": s.zmq_enabled()},
            "node": {"status": values["node.status"]},
            "benchmark": {
                "info": values["benchmark.info"],
                "status": values["benchmark.status"],
                "bench": values["benchmark.bench"],
            },
            "flux": flux,
            "apps": {
                "fluxusage": values["apps.fluxusage"],
                "runningapps": values["apps.runningapps"],
                "resources": values["apps.resources"],
            },
            "geolocation": values["geolocation"],
            "appsHashesTotal": hashes[0] if hashes else None,
            "hashesPresent": hashes[1] if hashes else None,
        }
        if errors:
            info["errors"] = errors
        return info

    async def _part(self, name: str, part: Part) -> tuple[Any, str | None]:
        try:
            return await asyncio.wait_for(part(), PART_TIMEOUT), None
        except FluxError as error:
            return None, error.message
        except TimeoutError:
            return None, f"no answer within {PART_TIMEOUT:g} s"
        except Exception as error:
            log.exception("/flux/info: the %s part failed", name)
            return None, f"{type(error).__name__}: {error}"

    async def _daemon_info(self) -> Any:
        info = await self.sources.fluxd.call("getinfo")
        if isinstance(info, dict):
            info = {key: value for key, value in info.items() if key != "balance"}
        return info

    async def _docker_version(self) -> Any:
        version = await self.sources.components.docker_version()
        return version.get("Version")
