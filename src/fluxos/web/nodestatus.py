"""What the built-in status page shows: one snapshot of the node, gathered from its
services through small callables (the composition root wires them).

A snapshot is kept for `MAX_AGE` seconds and built by one caller at a time, so any number
of open pages (and load balancers fetching `/`) cost the node one gathering every couple
of seconds. A source that fails shows its error in its place; the page never fails.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fluxos.system.logfiles import LOG_FILES, tail

log = logging.getLogger(__name__)

MAX_AGE = 2.0
SYNC_MARGIN = 5  # blocks behind the best header that still count as synced (as liveness)
LOG_LINE_CHARS = 240
_STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


class _Rpc(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


class _Collateral(Protocol):
    @property
    def tier(self) -> str: ...
    @property
    def amount(self) -> int: ...


class _Tier(Protocol):
    async def collateral(self) -> _Collateral: ...


class _SyncState(Protocol):
    @property
    def header(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def synced(self) -> bool: ...


class _Liveness(Protocol):
    def sync_state(self) -> _SyncState: ...


class _Loop(Protocol):
    name: str
    detail: str
    restarts: int
    last_error: str | None

    @property
    def state(self) -> Any: ...


class _Supervisor(Protocol):
    def status(self) -> Sequence[_Loop]: ...


class _Counted(Protocol):
    async def all(self) -> Sequence[Any]: ...


class _Directory(Protocol):
    async def available_app_names(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class StatusSources:
    """Where each part of the snapshot comes from."""

    version: str
    compat_version: str
    owner_zelid: Callable[[], str]
    node_address: Callable[[], str]
    node_pubkey: Callable[[], str]
    uptime: Callable[[], int]
    liveness: _Liveness
    fluxd: _Rpc
    fluxbench: _Rpc
    tier: _Tier
    peers: Callable[[], tuple[int, int]]  # (outgoing, incoming)
    running_apps: Callable[[], Awaitable[Sequence[Any]]] | None  # None: this node runs none
    installed_apps: _Counted
    global_apps: _Directory
    supervisor: _Supervisor
    log_dir: Path
    log_lines: int = 8


class NodeStatus:
    """Snapshots of the node for the status page (a dict, also served as JSON)."""

    def __init__(self, sources: StatusSources) -> None:
        self.sources = sources
        self._snapshot: dict[str, Any] | None = None
        self._taken = 0.0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> dict[str, Any]:
        async with self._lock:
            if self._snapshot is None or time.monotonic() - self._taken >= MAX_AGE:
                self._snapshot = await self._gather()
                self._taken = time.monotonic()
            return self._snapshot

    async def _gather(self) -> dict[str, Any]:
        s = self.sources
        outgoing, incoming = s.peers()
        chain, bench, tier, running, installed, global_apps = await asyncio.gather(
            self._chain(),
            _answer(self._bench),
            _answer(self._tier),
            _answer(self._running),
            _answer(lambda: _count(s.installed_apps.all())),
            _answer(lambda: _count(s.global_apps.available_app_names())),
        )
        return {
            "version": s.version,
            "fluxosCompat": s.compat_version,
            "identity": {
                "zelid": s.owner_zelid(),
                "address": s.node_address(),
                "pubkey": s.node_pubkey(),
                "tier": tier,
            },
            "uptime": s.uptime(),
            "chain": chain,
            "benchmark": bench,
            "peers": {"outgoing": outgoing, "incoming": incoming},
            "apps": {"running": running, "installed": installed, "global": global_apps},
            "loops": [
                {
                    "name": loop.name,
                    "state": str(loop.state),
                    "detail": loop.detail,
                    "restarts": loop.restarts,
                    "lastError": loop.last_error,
                }
                for loop in s.supervisor.status()
            ],
            "log": await asyncio.to_thread(recent_problems, s.log_dir, s.log_lines),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    async def _chain(self) -> dict[str, Any]:
        """fluxd's height now (the liveness poll runs every 30 s; the page shows more
        often), judged synced by the liveness rule."""
        state = self.sources.liveness.sync_state()
        try:
            info = await asyncio.wait_for(self.sources.fluxd.call("getblockchaininfo"), 5)
            blocks = int(info["blocks"])
            headers = max(state.header, int(info.get("headers", blocks)))
        except Exception as error:  # fluxd down or loading: say so, with the last known
            return {
                "height": state.height,
                "header": state.header,
                "synced": False,
                "reachable": False,
                "error": (str(error) or type(error).__name__)[:LOG_LINE_CHARS],
            }
        synced = blocks > headers - SYNC_MARGIN
        return {"height": blocks, "header": headers, "synced": synced, "reachable": True}

    async def _bench(self) -> str:
        status = await self.sources.fluxbench.call("getstatus")
        return str(status.get("benchmarking", "unknown")) if isinstance(status, dict) else "?"

    async def _tier(self) -> str:
        collateral = await self.sources.tier.collateral()
        return f"{collateral.tier} ({collateral.amount:,} FLUX collateral)"

    async def _running(self) -> int | None:
        containers = self.sources.running_apps
        return None if containers is None else len(await containers())


async def _count(items: Awaitable[Sequence[Any]]) -> int:
    return len(await items)


async def _answer(source: Callable[[], Awaitable[Any]]) -> Any:
    """The source's answer, or `{"error": text}` when it failed."""
    try:
        return await asyncio.wait_for(source(), timeout=5)
    except Exception as error:  # a part that cannot be read shows why, the page lives on
        text = str(error) or type(error).__name__
        return {"error": text[:LOG_LINE_CHARS]}


def recent_problems(log_dir: Path, lines: int) -> list[dict[str, str]]:
    """The last `lines` warning and error lines of the node's logs, oldest first."""
    if lines <= 0:
        return []
    found: list[tuple[str, str]] = []
    for level in ("warn", "error"):
        path = log_dir / LOG_FILES[level]
        if not path.exists():
            continue
        try:
            text = tail(path, lines * 20)  # room for tracebacks between records
        except OSError as error:
            log.info("status page: %s unreadable: %s", path, error)
            continue
        # a record's first line starts with its time; a traceback's other lines do not
        found.extend((line, level) for line in text.splitlines() if _STAMPED.match(line))
    # lines start with their UTC timestamp: sorting the text sorts by time
    found.sort(key=lambda item: item[0])
    return [{"level": level, "line": line[:LOG_LINE_CHARS]} for line, level in found[-lines:]]
