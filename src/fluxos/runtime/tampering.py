"""What happens to the apps' containers outside the runtime (upstream 8.18 #1718/#1768,
`/apps/tamperingevents`): an owner can see whether a host meddled with the app.

Two witnesses. Docker's own event stream, read every pass: a component container killed
or stopped, removed, exec'd into, or altered (updated, renamed, committed, paused or
unpaused, cut from its network) by anyone but the runtime. And the reconciler: a
component whose container is gone, or that runs although it was wished stopped. The
runtime's own calls go through its `DockerEngine`, which notes when each acted on which
container (`OwnActions`); an event inside such a span is the runtime's own (control
commands, installs and removals, the reconciler's restarts and stops, `appexec`).

Each incident is one row per component, kind and hour of this boot (storage.tampering),
counting its observations; its severity weighs how much it says about the host:
a vanished container most, a stop or an exec by hand next, the rest least. A container
counts as vanished only once the watch has seen it exist (listed at the first pass, or
created since) and while no install of its app is under way.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.runtime.components import container_names
from fluxos.runtime.engine import MARGIN, DockerEngine
from fluxos.storage.localapps import LocalApps
from fluxos.storage.tampering import Incident, NodeIdentity, TamperingStore

log = logging.getLogger(__name__)

SEVERITY = {
    "container_vanished": 3,
    "container_stopped": 2,
    "container_exec": 2,
    "container_started": 1,
    "container_altered": 1,
    "network_detached": 1,
}
HOUR_MS = 3_600_000
DIE_DETACH = 5.0  # s: a network disconnect this soon after the container died is the stop's
RECENT_REMOVAL = 60.0  # s: a container the runtime removed this recently has not vanished
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_ACTIONS = {
    "kill": "container_stopped",
    "stop": "container_stopped",
    "destroy": "container_vanished",
    "exec_start": "container_exec",
    "update": "container_altered",
    "rename": "container_altered",
    "commit": "container_altered",
    "pause": "container_altered",
    "unpause": "container_altered",
}


def boot_id(path: Path = BOOT_ID) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


class TamperWatch:
    def __init__(
        self,
        engine: DockerEngine,
        store: TamperingStore,
        apps: LocalApps,
        clock: Clock,
        *,
        interval: float = 10.0,
        wall: Callable[[], float] = time.time,
        uptime: Callable[[], float] = lambda: 0.0,
        node_status: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.apps = apps
        self.clock = clock
        self.interval = interval
        self.wall = wall  # Docker's events carry the host's time, whatever the node's clock
        self.uptime = uptime
        self.node_status = node_status  # fluxd's getfluxnodestatus: who this node is
        self._identity: NodeIdentity | None = None
        self._stamped = False
        self.boot = boot_id()
        self._since = wall()
        self._seen: deque[tuple[int, str, str]] = deque(maxlen=4096)
        self._died: dict[str, float] = {}  # container id -> its last `die` (host time)
        self._known: set[str] | None = None  # containers seen to exist (None: not read yet)
        self.recorded = 0
        # the app being installed or redeployed (its containers are not all there yet)
        self.busy: Callable[[], str | None] = lambda: None

    def _ours(self, container: str, action: str, at: float, *, after: float = MARGIN) -> bool:
        return self.engine.own.covers(container, action, at, after=after)

    # -- witnesses -----------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self.clock.sleep(self.interval)
            try:
                await self.scan()
                if not self._stamped and await self.identity() is not None:
                    assert self._identity is not None
                    await self.store.stamp_unidentified(self._identity)
                    self._stamped = True
            except FluxError as error:  # Docker away: the next pass reads from the same time
                log.info("tampering watch: %s", error.message)

    async def scan(self) -> int:
        """Read Docker's events since the last pass; how many incidents they added to."""
        until = self.wall()
        if self._known is None:
            listed = await self.engine.list_containers(all=True)
            self._known = {str(n).lstrip("/") for c in listed for n in c.get("Names") or []}
        # the overlap with the last pass (an event stamped at its `until`) is deduplicated
        events = await self.engine.events(self._since, until, types=("container", "network"))
        components = await self._components()
        found = 0
        if len(self._died) > 1000:
            self._died.clear()
        for event in events:  # a stop's die and network disconnect come in either order
            if event.get("Action") == "die":
                self._died[_actor(event)] = _time(event)
        for event in events:
            seen = (int(event.get("timeNano") or 0), str(event.get("Action")), _actor(event))
            if seen in self._seen:
                continue
            self._seen.append(seen)
            if event.get("Action") == "create":
                self._known.add(
                    str(((event.get("Actor") or {}).get("Attributes") or {}).get("name"))
                )
            at = _time(event)
            kind, container, details = _classify(event)
            if kind == "network_detached":
                # a container that stops leaves its networks: only a cut by hand counts
                if abs(at - self._died.get(container, -math.inf)) <= DIE_DETACH:
                    continue
                container = await self._name_of(container, components)
            verb = str(event.get("Action") or "").split(":", 1)[0].strip()
            ours = self._ours(container, verb, at)
            if kind == "container_vanished" and ours:  # removed by the runtime: gone now
                self._known.discard(container)
            if kind is None or ours or container not in components:
                continue
            await self.record(container, kind, details, components[container])
            found += 1
        self._since = until
        return found

    async def observe(self, container: str, event: str, details: dict[str, Any]) -> None:
        """The reconciler's observations (`Reconciler(observer=...)`)."""
        kind = {"missing": "container_vanished", "started outside": "container_started"}.get(event)
        if kind is None:  # an exit is a crash until Docker's events say who did it
            return
        components = await self._components()
        if kind == "container_vanished" and (
            self._known is None
            or container not in self._known
            or self._ours(container, "destroy", self.wall(), after=RECENT_REMOVAL)
            or (container in components and components[container]["name"] == self.busy())
        ):  # an install not done yet, a removal under way: not a container that vanished
            return
        if container in components:
            await self.record(container, kind, f"{event}: {details}", components[container])

    async def identity(self) -> NodeIdentity | None:
        """This node's collateral outpoint, IP and pubkey, once fluxd answers with them
        (kept from then on; until then incidents carry none and are stamped later)."""
        if self._identity is not None or self.node_status is None:
            return self._identity
        try:
            status = await self.node_status()
        except Exception as error:  # fluxd away or not a fluxnode yet: the next one asks
            log.info("tampering: node identity unknown yet (%s)", error)
            return None
        self._identity = _identity(status)
        return self._identity

    async def record(self, container: str, kind: str, details: str, spec: dict[str, Any]) -> None:
        now = self.clock.millis()
        node = await self.identity()
        incident = Incident(
            component=container,
            event_type=kind,
            incident_key=f"{self.boot or 'unknown'}:{now // HOUR_MS}",
            app=str(spec["name"]),
            severity=SEVERITY[kind],
            boot_id=self.boot,
            uptime_at_event=round(self.uptime()),
            first_seen=now,
            last_seen=now,
            count=1,
            details=details[:1000],
            owner=spec.get("owner"),
            app_hash=spec.get("hash"),
            node_txid=node.txid if node else None,
            node_outidx=node.outidx if node else None,
            node_ip=node.ip if node else None,
            pubkey=node.pubkey if node else None,
        )
        if await self.store.record(incident):
            log.warning("tampering: %s of %s (%s)", kind, container, details)
        self.recorded += 1

    async def _name_of(self, container_id: str, components: dict[str, Any]) -> str:
        for name in components:
            try:
                if (await self.engine.inspect(name))["Id"] == container_id:
                    return name
            except FluxError:
                continue
        return ""

    async def _components(self) -> dict[str, dict[str, Any]]:
        return {name: spec for spec in await self.apps.all() for name in container_names(spec)}


_OUTPOINT = re.compile(r"COutPoint\(\s*([0-9a-fA-F]{64})\s*,\s*(\d+)\s*\)")


def _identity(status: Any) -> NodeIdentity | None:
    """From getfluxnodestatus: `txhash`/`outidx`, else the `collateral` outpoint."""
    if not isinstance(status, dict):
        return None
    txid, outidx = status.get("txhash"), status.get("outidx")
    if not txid or outidx is None:
        match = _OUTPOINT.search(str(status.get("collateral") or ""))
        if match is None:
            return None
        txid, outidx = match.group(1), match.group(2)
    try:
        index: int | None = int(outidx)
    except (TypeError, ValueError):
        index = None
    return NodeIdentity(
        txid=str(txid),
        outidx=index,
        ip=str(status["ip"]) if status.get("ip") else None,
        pubkey=str(status["pubkey"]) if status.get("pubkey") else None,
    )


def _time(event: dict[str, Any]) -> float:
    return float(event.get("timeNano") or 0) / 1e9 or float(event.get("time") or 0)


def _actor(event: dict[str, Any]) -> str:
    return str((event.get("Actor") or {}).get("ID") or event.get("id") or "")


def _classify(event: dict[str, Any]) -> tuple[str | None, str, str]:
    """(kind or None, container name, details) of one Docker event."""
    action = str(event.get("Action") or event.get("status") or "")
    attributes = (event.get("Actor") or {}).get("Attributes") or {}
    if event.get("Type") == "network":
        if action != "disconnect":
            return None, "", ""
        # names the container by id only (scan() finds its name)
        network = attributes.get("name")
        return (
            "network_detached",
            str(attributes.get("container", "")),
            (f"disconnected from {network}"),
        )
    verb, _sep, rest = action.partition(":")
    kind = _ACTIONS.get(verb.strip())
    name = str(attributes.get("name", ""))
    if kind is None:
        return None, name, ""
    extra = f" {rest.strip()}" if rest else ""
    signal = f" signal {attributes['signal']}" if "signal" in attributes else ""
    return kind, name, f"{verb.strip()}{extra}{signal}".strip()
