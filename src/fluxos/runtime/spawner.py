"""The spawner (apps.md §10): this node's share of running the network's global apps.

Every node runs the same loop. A pass lists the global apps with fewer running
locations than their `instances` (default 3), drops those this node may not or need not
run (running here already, failed here lately, tried lately, `nodes` naming other nodes,
geolocation, deferred), picks one at random (one naming this node first), checks again,
and claims it: `fluxappinstalling` to the network, a wait for the other nodes' claims
(`installCollisionWaitMs`), and only the first `instances - running` claimers (earliest
broadcast first) go on. After the install it waits again and, if more copies run than
asked, the youngest ones (latest `runningSince`) uninstall. Each pass returns the delay
before the next, upstream's: 60 s while more than one app is waiting for this node,
else 5 min after a skip and 30 min otherwise.

A second loop keeps the count honest afterwards: an installed global app with more
locations than `instances` is removed from the node whose copy started last, and an
installed app whose global spec expired (or was never global, for two checks in a row)
is removed, as upstream's `checkAndRemoveApplicationInstance` and
`expireGlobalApplications` do.

The registry is reached through `GlobalApps` (specs, running and installing locations);
until the registry lists this node's own broadcasts, the node counts its own running
copies and its own claim itself. Every upstream delay is multiplied by `time_scale`
(`[runtime] spawn_time_scale`): 1 on mainnet, small on a devnet cluster so that it
converges in seconds.

Deliberate: before the claim a candidate is skipped once running + installing reach
`instances` (upstream only when they pass it, which lets a node claim a full app and
then lose the claim order).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from fluxos.apps.specs import host_ports, public_view
from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.runtime.components import container_names
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.installer import Installer
from fluxos.runtime.requirements import FactSource, check_ports, check_requirements
from fluxos.runtime.spawnrules import (
    AFTER_INSTALL_WAIT,
    BLOCK_SECONDS,
    CLEANUP_INTERVAL,
    CLEANUP_WAIT,
    COLLISION_WAIT,
    FAILED_TTL,
    MANY_NORMAL,
    MANY_SHORT,
    MAX_APPS_PER_NODE,
    MIN_PROPAGATION,
    NOT_READY,
    RESPEC_BLOCKS,
    SINGLE_NORMAL,
    SINGLE_SHORT,
    TRIED_AFTER_ERROR_TTL,
    TRIED_TTL,
    GlobalApp,
    Placement,
    TtlSet,
    deferral,
    expires_in_time,
    geolocation_allows,
    host_of,
    loses_after_install,
    loses_claim,
    nodes_allow,
    pick,
    removes_in_cleanup,
    same_node,
    spec_change,
    synced,
)
from fluxos.storage.localapps import LocalApps
from fluxos.wire.jsvalues import to_number, truthy

log = logging.getLogger(__name__)


class GlobalApps(Protocol):
    """What the spawner reads from the global apps registry."""

    async def global_apps(self) -> list[GlobalApp]: ...
    async def running(self, name: str) -> list[Placement]: ...
    async def installing(self, name: str) -> list[Placement]: ...


class Claims(Protocol):
    """Where the spawner's `fluxappinstalling` goes (the runtime's announcer)."""

    async def installing(self, app: str) -> None: ...


@dataclass
class Deferred:
    name: str
    hash: str
    due: float  # clock.monotonic()


@dataclass
class SpawnStats:
    passes: int = 0
    installed: list[str] = field(default_factory=list)
    lost_claims: list[str] = field(default_factory=list)
    removed_surplus: list[str] = field(default_factory=list)
    removed_expired: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    last: str = ""


class Spawner:
    def __init__(
        self,
        source: GlobalApps,
        installer: Installer,
        apps: LocalApps,
        engine: DockerEngine,
        claims: Claims,
        facts: FactSource,
        clock: Clock,
        *,
        height: Callable[[], Awaitable[int | None]],
        own_ip: Callable[[], str],
        location: Callable[[], str | None] = lambda: None,
        not_ready: Callable[[], Awaitable[str | None]] | None = None,
        time_scale: float = 1.0,
        blocked_ports: Sequence[int] = (),
        rng: random.Random | None = None,
        report: Callable[[str], None] = lambda _detail: None,
    ) -> None:
        self.source = source
        self.installer = installer
        self.apps = apps
        self.engine = engine
        self.claims = claims
        self.facts = facts
        self.clock = clock
        self.height = height
        self.own_ip = own_ip
        self.location = location
        self.not_ready = not_ready
        self.scale = time_scale
        self.blocked_ports = tuple(blocked_ports)
        self.rng = rng or random.Random()
        self.report = report  # what the supervisor shows beside the loop's state
        self.tried = TtlSet(clock)
        self.failed = TtlSet(clock)
        self.deferred: list[Deferred] = []
        self.my_claims: dict[str, int] = {}
        self.stats = SpawnStats()
        self._missing_spec: set[str] = set()

    def seconds(self, upstream: float) -> float:
        return upstream * self.scale

    def propagation(self, upstream: float) -> float:
        """A wait for the other nodes' gossip to arrive: scaled, but never below
        `MIN_PROPAGATION` seconds (a busy devnet machine still needs that long)."""
        return max(self.seconds(upstream), min(upstream, MIN_PROPAGATION))

    # -- the loops ---------------------------------------------------------------------
    async def run(self) -> None:
        """The spawning loop (supervised): a pass, then the delay it asks for."""
        while True:
            delay = await self.try_spawn()
            self.report(f"{self.stats.last}; next pass in {delay:.0f} s")
            await self.clock.sleep(delay)

    async def cleanup_loop(self) -> None:
        """Surplus and expired copies, every 44 blocks' time (scaled)."""
        while True:
            await self.clock.sleep(self.seconds(CLEANUP_INTERVAL))
            try:
                await self.remove_surplus()
            except FluxError as error:
                log.warning("apps cleanup: %s", error.message)

    async def respec_loop(self) -> None:
        """Changed global specs reach the installed copies, every random 16-36 blocks'
        time (upstream: 4-9 blocks x 4), scaled."""
        while True:
            blocks = self.rng.randint(*RESPEC_BLOCKS)
            await self.clock.sleep(self.seconds(blocks * BLOCK_SECONDS))
            try:
                await self.follow_spec_changes()
            except FluxError as error:
                log.warning("apps spec changes: %s", error.message)

    async def follow_spec_changes(self, *, chance: float = 0.5) -> list[str]:
        """Each installed app whose global hash moved on is, with probability `chance`
        (upstream: 1/2, so that not every node redeploys at once), brought to the new
        spec: the record only, a redeploy (soft keeps data, hard a new volume) or a
        reinstall; an enterprise app on this (non-Arcane) node is removed."""
        specs = {a.name: a for a in await self.source.global_apps()}
        changed: list[str] = []
        for installed in await self.apps.all():
            name = str(installed["name"])
            app = specs.get(name)
            if app is None or installed.get("hash") == app.hash or self.rng.random() >= chance:
                continue
            wanted = {**app.spec, "hash": app.hash}
            if truthy(wanted.get("enterprise")):
                log.info("apps spec changes: %s is now an enterprise app; removing it", name)
                await self.installer.remove(name, force=True)
                changed.append(name)
                continue
            change = spec_change(installed, wanted)
            log.info("apps spec changes: %s moves to spec %s (%s)", name, app.hash, change)
            if change.record:
                await self.apps.replace(name, public_view(wanted))
            elif change.reinstall:
                await self.installer.remove(name, force=True, announce=False)
                await self.installer.install(wanted)
            else:
                await self.installer.redeploy(wanted, change.soft, change.hard)
            changed.append(name)
        return changed

    # -- what the registry says, with what this node knows of itself --------------------
    async def running(self, name: str) -> list[Placement]:
        listed = await self.source.running(name)
        own = self.own_ip()
        if not any(same_node(p.ip, own) for p in listed) and await self._runs_here(name):
            since = await self.apps.installed_at(name)
            listed.append(Placement(own, int(since * 1000) if since is not None else None))
        return listed

    async def installing(self, name: str) -> list[Placement]:
        listed = await self.source.installing(name)
        own = self.own_ip()
        claim = self.my_claims.get(name)
        if claim is not None and not any(same_node(p.ip, own) for p in listed):
            listed.append(Placement(own, claim))
        return listed

    async def _runs_here(self, name: str) -> bool:
        spec = await self.apps.get(name)
        if spec is None:
            return False
        up = await self._running_containers()
        return set(container_names(spec)) <= up

    async def _running_containers(self) -> set[str]:
        return {
            str(n).lstrip("/")
            for summary in await self.engine.list_containers(all=False)
            for n in summary.get("Names") or []
        }

    async def _count(self, name: str) -> tuple[list[Placement], list[Placement]]:
        running = await self.running(name)
        installing = [
            p
            for p in await self.installing(name)
            if not any(same_node(p.ip, r.ip) for r in running)
        ]
        return running, installing

    def _short(self, waiting: int) -> float:
        return self.seconds(MANY_SHORT if waiting > 1 else SINGLE_SHORT)

    def _normal(self, waiting: int) -> float:
        return self.seconds(MANY_NORMAL if waiting > 1 else SINGLE_NORMAL)

    # -- one pass ----------------------------------------------------------------------
    async def try_spawn(self) -> float:
        """One pass of upstream's trySpawningGlobalApplication; the delay to the next."""
        self.stats.passes += 1
        app: GlobalApp | None = None
        try:
            if self.not_ready is not None and (reason := await self.not_ready()):
                self.stats.last = f"not ready: {reason}"
                return self.seconds(NOT_READY)
            height = await self.height()
            if height is None:
                self.stats.last = "not ready: chain height unknown"
                return self.seconds(NOT_READY)
            if len(await self._running_containers()) >= MAX_APPS_PER_NODE:
                self.stats.last = "at the maximum of apps per node"
                return self._normal(0)
            chosen = await self._choose(height)
            if isinstance(chosen, float):
                return chosen
            app, waiting, deferred = chosen
            return await self._spawn(app, waiting, deferred=deferred)
        except FluxError as error:
            if app is not None and app.hash not in self.failed and app.hash not in self.tried:
                self.tried.add(app.hash, self.seconds(TRIED_AFTER_ERROR_TTL))
            self.stats.last = f"error: {error.message}"
            log.warning("apps spawner: %s", error.message)
            return self._short(0)

    async def _choose(self, height: int) -> tuple[GlobalApp, int, bool] | float:
        """(app, apps waiting for this node, app comes back from a deferral), or the
        delay before the next pass."""
        own = self.own_ip()
        everything = {a.name: a for a in await self.source.global_apps()}
        missing = []
        for app in sorted(everything.values(), key=lambda a: a.name):
            if expires_in_time(app, height) and len(await self.running(app.name)) < app.instances:
                missing.append(app)
        if not missing:
            self.stats.last = "no app is missing instances"
            return self._normal(0)
        now = self.clock.monotonic()
        due = next((d for d in self.deferred if d.due <= now), None)
        if due is not None:
            self.deferred.remove(due)
            again = next((a for a in missing if a.name == due.name), None)
            if again is None:
                self.stats.last = f"{due.name} (deferred) is no longer missing instances"
                return self._short(0)
            return again, len(missing), True
        up = await self._running_containers()
        location = self.location()
        candidates = [
            app
            for app in missing
            if not any(c.startswith("flux") and c.endswith(f"_{app.name}") for c in up)
            and f"flux{app.name}" not in up
            and app.hash not in self.failed
            and app.hash not in self.tried
            and not any(d.name == app.name for d in self.deferred)
            and nodes_allow(app, own)
            and geolocation_allows(list(app.spec.get("geolocation") or []), location)
            and not truthy(app.spec.get("enterprise"))  # enterprise apps: Arcane nodes only
        ]
        waiting = len(candidates) + len(self.deferred)
        if not candidates:
            self.stats.last = "no app to be processed here"
            return self._normal(waiting)
        app = pick(candidates, own, self.rng)
        running, installing = await self._count(app.name)
        if len(running) + len(installing) >= app.instances:
            self.stats.last = f"{app.name} is already spawned or being installed"
            return self._short(waiting)
        return app, waiting, False

    async def _spawn(self, app: GlobalApp, waiting: int, *, deferred: bool) -> float:
        own = self.own_ip()
        name, short = app.name, self._short(waiting)
        self.tried.add(app.hash, self.seconds(TRIED_TTL))
        running, installing = await self._count(name)
        if any(same_node(p.ip, own) for p in running + installing):
            self.stats.last = f"{name} runs or installs on this IP already"
            return self._normal(waiting)
        if await self.apps.find(name) is not None:
            self.stats.last = f"{name} is installed here already"
            return short
        if set(int(to_number(p)) for p in host_ports(app.spec)) & set(self.blocked_ports):
            self.failed.add(app.hash, self.seconds(FAILED_TTL))
            self.stats.last = f"{name} uses a port this node's operator blocked"
            return short
        facts = await self.facts.facts()
        installed = await self.apps.all()
        check_requirements(app.spec, facts, installed)  # InstallError: tried for 12 h
        check_ports(app.spec, installed)
        wait = None if deferred else deferral(app, facts, own)
        if wait is not None:
            self.tried.discard(app.hash)
            self.deferred.append(
                Deferred(name, app.hash, self.clock.monotonic() + self.seconds(wait))
            )
            self.stats.last = f"{name} deferred for {self.seconds(wait):.0f} s"
            return short
        running, installing = await self._count(name)
        if len(running) + len(installing) >= app.instances:
            self.stats.last = f"{name} is already spawned or being installed"
            return short

        # the claim, then the collision wait: the first claimers go on
        self.my_claims[name] = self.clock.millis()
        try:
            await self.claims.installing(name)
            await self.clock.sleep(self.propagation(COLLISION_WAIT))
            running, installing = await self._count(name)
            if loses_claim(running, installing, app.instances, own):
                self.stats.lost_claims.append(name)
                self.stats.last = f"{name}: other nodes claimed it first"
                return short
            if synced(app.spec) and self._same_range_first(running, installing, own) is False:
                self.stats.last = f"{name} syncs and runs or installs in this IP range already"
                return short
            spec = {**app.spec, "hash": app.hash}
            try:
                await self.installer.install(spec)
            except FluxError as error:
                self.failed.add(app.hash, self.seconds(FAILED_TTL))
                self.stats.failed[name] = error.message
                self.stats.last = f"{name} failed to install: {error.message}"
                return short
        finally:
            self.my_claims.pop(name, None)
        self.stats.installed.append(name)
        log.info("apps spawner: installed %s", name)

        await self.clock.sleep(self.propagation(AFTER_INSTALL_WAIT))
        running = await self.running(name)
        if loses_after_install(running, app.instances, own):
            self.tried.discard(app.hash)
            log.info("apps spawner: %s runs on %d nodes, this copy goes", name, len(running))
            await self.installer.remove(name, force=True)
            self.stats.removed_surplus.append(name)
        self.stats.last = f"{name} installed"
        return self._normal(waiting)

    @staticmethod
    def _same_range_first(
        running: Sequence[Placement], installing: Sequence[Placement], own: str
    ) -> bool:
        """Synced apps: one copy per /16; among claimers there the earliest goes on."""
        prefix = ".".join(host_of(own).split(".")[:2]) + "."
        if any(host_of(p.ip).startswith(prefix) and not same_node(p.ip, own) for p in running):
            return False
        near = [p for p in installing if host_of(p.ip).startswith(prefix)]
        if not near:
            return True
        first = min(near, key=lambda p: (p.at_ms is None, p.at_ms or 0))
        return same_node(first.ip, own)

    # -- surplus and expired copies ------------------------------------------------------
    async def remove_surplus(self) -> list[str]:
        """One cleanup pass: this node's copy of an over-provisioned app goes if it is the
        newest; an app whose global spec expired (or is gone on two passes running) goes."""
        height = await self.height()
        if height is None:
            return []
        own = self.own_ip()
        specs = {a.name: a for a in await self.source.global_apps()}
        removed: list[str] = []
        for spec in await self.apps.all():
            name = str(spec["name"])
            app = specs.get(name)
            if app is None or app.expire_height <= height:
                if app is None and name not in self._missing_spec:
                    self._missing_spec.add(name)  # one miss may be the registry's hiccup
                    continue
                log.info("apps cleanup: %s has no current global spec; removing it", name)
                await self.installer.remove(name, force=True)
                self._missing_spec.discard(name)
                self.stats.removed_expired.append(name)
                removed.append(name)
                continue
            self._missing_spec.discard(name)
            running = await self.running(name)
            if removes_in_cleanup(running, app.instances, own):
                log.info(
                    "apps cleanup: %s runs on %d nodes for %d instances; this newest copy goes",
                    name,
                    len(running),
                    app.instances,
                )
                await self.installer.remove(name, force=True)
                self.stats.removed_surplus.append(name)
                removed.append(name)
                await self.clock.sleep(self.seconds(CLEANUP_WAIT))
        return removed


class Condition(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...


async def watch_engine(
    engine: DockerEngine, reachable: Condition, clock: Clock, interval: float = 10.0
) -> None:
    """Keeps the supervisor's "dockerd reachable" condition true while Docker answers."""
    while True:
        if await engine.available():
            reachable.set()
        else:
            reachable.clear()
        await clock.sleep(interval)
