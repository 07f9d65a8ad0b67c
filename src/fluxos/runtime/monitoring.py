"""App monitoring (apps.md §11.9, upstream's appsMonitored): every minute each monitored
component's Docker stats with its disk use (`disk_stats`) go into a one-hour store, and
every third minute, with the container's `nanoCpus`, into a store kept seven days, which
`/apps/appmonitor` answers.

Every installed component is monitored unless an operator or owner stopped it with
`stopmonitoring` (`startmonitoring` resumes it); removing an app, or `deletedata`,
drops its samples. The stores live in memory, as upstream's do.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError, NotFound
from fluxos.runtime.components import container_names
from fluxos.runtime.engine import DockerEngine
from fluxos.storage.localapps import LocalApps

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
LONG_EVERY = 3  # runs: every third sample goes into the 7-day store
THIN_EVERY = 20  # a range over a day answers every 20th sample (and the last)
CONCURRENT = 4  # stats asked of the engine at once


@dataclass
class Monitored:
    run: int = 0
    last_hour: deque[dict[str, Any]] = field(default_factory=deque)
    week: deque[dict[str, Any]] = field(default_factory=deque)


class AppMonitor:
    def __init__(
        self, engine: DockerEngine, apps: LocalApps, clock: Clock, *, interval: float = 60.0
    ) -> None:
        self.engine = engine
        self.apps = apps
        self.clock = clock
        self.interval = interval
        self.stores: dict[str, Monitored] = {}  # by component id (`web_app`, v1-3 `app`)
        self.stopped: set[str] = set()
        self.passes = 0

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self.clock.sleep(self.interval)
            try:
                await self.sample_all()
            except FluxError as error:  # Docker away: the next minute tries again
                log.info("app monitoring pass skipped: %s", error.message)

    async def watched(self) -> list[str]:
        """The ids of the installed components that are monitored now."""
        ids = [
            name.removeprefix("flux")
            for spec in await self.apps.all()
            for name in container_names(spec)
        ]
        return [i for i in ids if i not in self.stopped]

    async def sample_all(self) -> int:
        """One minute's samples; components no longer installed lose theirs."""
        installed = {
            name.removeprefix("flux") for spec in await self.apps.all()
            for name in container_names(spec)
        }  # fmt: skip
        for gone in set(self.stores) - installed:
            del self.stores[gone]
        self.stopped &= installed
        limit = asyncio.Semaphore(CONCURRENT)

        async def one(component: str) -> bool:
            async with limit:
                return await self.sample(component)

        done = await asyncio.gather(*(one(c) for c in await self.watched()))
        self.passes += 1
        return sum(done)

    async def sample(self, component: str) -> bool:
        container = f"flux{component}"
        try:
            stats = await self.engine.stats(container)
            inspect = await self.engine.inspect_size(container)
        except NotFound:
            return False
        stats["disk_stats"] = await asyncio.to_thread(disk_stats, inspect)
        store = self.stores.setdefault(component, Monitored())
        store.run += 1
        now = self.clock.millis()
        if store.run % LONG_EVERY == 0:
            stats["nanoCpus"] = (inspect.get("HostConfig") or {}).get("NanoCpus")
            store.week.append({"timestamp": now, "data": stats})
            while store.week and now - store.week[0]["timestamp"] > WEEK_MS:
                store.week.popleft()
        store.last_hour.append({"timestamp": now, "data": stats})
        while store.last_hour and now - store.last_hour[0]["timestamp"] > HOUR_MS:
            store.last_hour.popleft()
        return True

    # -- what the routes ask -------------------------------------------------------------
    def samples(self, component: str, range_ms: int | None) -> list[dict[str, Any]]:
        store = self.stores.get(component)
        if store is None:
            raise NotFound("No data available")
        found = list(store.week)
        if range_ms is not None:
            cutoff = self.clock.millis() - range_ms
            found = [s for s in found if s["timestamp"] >= cutoff]
            if range_ms > DAY_MS:
                last = len(found) - 1
                found = [s for i, s in enumerate(found) if i % THIN_EVERY == 0 or i == last]
        return found

    def start(self, components: list[str]) -> None:
        """Monitor these again (their samples so far are kept)."""
        self.stopped -= set(components)

    def stop(self, components: list[str], *, delete: bool) -> None:
        self.stopped |= set(components)
        if delete:
            for component in components:
                self.stores.pop(component, None)


def disk_stats(inspect: dict[str, Any]) -> dict[str, Any]:
    """Bytes a container uses (upstream's getContainerStorage): its bind and volume
    mounts (a mount inside another counted once) and its writable layer."""
    try:
        mounts = [m for m in inspect.get("Mounts") or [] if m.get("Source")]
        sources = [str(m["Source"]) for m in mounts]
        sizes = {"bind": 0, "volume": 0}
        for mount in mounts:
            source = str(mount["Source"])
            if any(source.startswith(other + "/") for other in sources if other != source):
                continue
            kind = mount.get("Type")
            if kind in sizes:
                sizes[kind] += tree_size(Path(source))
        rootfs = int(inspect.get("SizeRootFs") or 0)
        return {
            "bind": sizes["bind"],
            "volume": sizes["volume"],
            "rootfs": rootfs,
            "used": sizes["bind"] + sizes["volume"] + rootfs,
            "status": "success",
        }
    except OSError as error:
        return {"bind": 0, "volume": 0, "rootfs": 0, "used": 0, "status": "error",
                "message": str(error)}  # fmt: skip


def tree_size(root: Path) -> int:
    """`du -sb`: the bytes of every file and directory under `root`, links not followed."""
    total = 0
    stack = [root]
    while stack:
        path = stack.pop()
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        total += info.st_size
        if path.is_dir() and not path.is_symlink():
            try:
                with os.scandir(path) as entries:
                    stack.extend(Path(entry.path) for entry in entries)
            except PermissionError:
                continue
    return total
