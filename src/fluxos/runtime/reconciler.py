"""The one thing that starts and stops app containers on its own (upstream 8.18's fixes).

Every component has a desired state: `running`, unless the operator stopped it (that wish
is stored, so it survives restarts of the node). Each pass compares the wish with what
Docker reports and acts:

* wished running, container not running (crashed, exited 0, killed or stopped from
  outside): start it on the crash ladder - at once, then after 30 s, 5 min, 15 min and
  30 min between attempts; ten minutes of running resets the ladder;
* wished stopped, container running: stop it;
* paused containers are left paused (pausing is an operator command);
* a component's volume is mounted again before its container starts (after a reboot);
* a component whose container is gone is reported, never removed by the reconciler: one
  transient failure never removes an app.

Operator commands change the wish and reset the ladder; they never count as crashes.

A component with an `s:`/`r:`/`g:` volume also obeys the Syncthing controller's gate
(`fluxos.sync.apps.RunGate`): closed, it is stopped (a standby, an unverified copy, an
unmounted volume); undecided (just after the node started), it is left as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fluxos.apps.specs import components
from fluxos.clock import Clock
from fluxos.errors import FluxError, NotFound
from fluxos.runtime.components import container_name, container_names
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.volumes import Volumes
from fluxos.storage.localapps import RUNNING, STOPPED, LocalApps
from fluxos.sync.apps import RunGate, sync_mode

log = logging.getLogger(__name__)

LADDER_SECONDS = (0.0, 30.0, 300.0, 900.0, 1800.0)
"""Waits before the 1st, 2nd, ... restart of a crashed container; the last one repeats."""
STABLE_SECONDS = 600.0


@dataclass
class CrashLadder:
    """Restart pacing of one component."""

    steps: tuple[float, ...] = LADDER_SECONDS
    stable_after: float = STABLE_SECONDS
    attempts: int = 0
    last_attempt: float | None = None
    running_since: float | None = None

    def due(self, now: float) -> bool:
        """Whether a restart may be tried now."""
        if self.last_attempt is None:
            return True
        wait = self.steps[min(self.attempts, len(self.steps) - 1)]
        return now - self.last_attempt >= wait

    def attempted(self, now: float) -> None:
        self.attempts += 1
        self.last_attempt = now
        self.running_since = None

    def running(self, now: float) -> None:
        """Seen running; after `stable_after` seconds of it the ladder starts over."""
        if self.running_since is None:
            self.running_since = now
        elif now - self.running_since >= self.stable_after and self.attempts:
            self.reset()
            self.running_since = now

    def next_wait(self) -> float:
        return self.steps[min(self.attempts, len(self.steps) - 1)]

    def reset(self) -> None:
        self.attempts = 0
        self.last_attempt = None


@dataclass
class PassReport:
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


Observer = Callable[[str, str, dict[str, Any]], Awaitable[None]]
"""(container, event, details): what the reconciler saw happen outside its own actions."""


class Reconciler:
    def __init__(
        self,
        engine: DockerEngine,
        apps: LocalApps,
        clock: Clock,
        *,
        interval: float = 10.0,
        steps: tuple[float, ...] = LADDER_SECONDS,
        stable_after: float = STABLE_SECONDS,
        observer: Observer | None = None,
        volumes: Volumes | None = None,
        gate: RunGate | None = None,
    ) -> None:
        self.gate = gate
        self.engine = engine
        self.volumes = volumes
        self.apps = apps
        self.clock = clock
        self.interval = interval
        self.steps = steps
        self.stable_after = stable_after
        self.observer = observer
        self.ladders: dict[str, CrashLadder] = {}
        self.passes = 0
        self.last_report = PassReport()

    def ladder(self, container: str) -> CrashLadder:
        if container not in self.ladders:
            self.ladders[container] = CrashLadder(self.steps, self.stable_after)
        return self.ladders[container]

    def operator_acted(self, container: str) -> None:
        """An operator command touched the container: its ladder starts over."""
        self.ladders.pop(container, None)

    async def run(self) -> None:
        """The background loop (supervised): one pass every `interval` seconds."""
        while True:
            try:
                await self.reconcile_once()
            except FluxError as error:  # Docker away: try again next pass
                log.warning("apps reconciler: %s", error.message)
            await self.clock.sleep(self.interval)

    async def reconcile_once(self) -> PassReport:
        report = PassReport()
        wishes = await self.apps.desired()
        for spec in await self.apps.all():
            for component in components(spec):
                name = container_name(spec, component)
                synced = sync_mode(str(component.get("containerData") or "")) is not None
                await self._reconcile(name, wishes.get(name, RUNNING), report, synced=synced)
        for gone in (
            set(self.ladders)
            - set(wishes)
            - {n for spec in await self.apps.all() for n in container_names(spec)}
        ):
            self.ladders.pop(gone, None)
        self.passes += 1
        self.last_report = report
        return report

    async def _reconcile(
        self, name: str, desired: str, report: PassReport, *, synced: bool = False
    ) -> None:
        now = self.clock.time()
        try:
            state = (await self.engine.inspect(name))["State"]
        except NotFound:
            report.missing.append(name)
            log.warning("apps reconciler: container %s is missing", name)
            await self._observe(name, "missing", {})
            return
        status = str(state.get("Status"))
        ladder = self.ladder(name)
        allowed = self.gate.may_run(name) if synced and self.gate is not None else True
        if desired == RUNNING and allowed is not True:
            if self.volumes is not None and status not in ("running", "paused"):
                try:  # the controller verifies, and lets run, only a mounted volume
                    await self.volumes.mount(name)
                except FluxError as error:
                    log.warning("apps reconciler: %s volume not mounted: %s", name, error.message)
            if allowed is False and status in ("running", "restarting"):
                log.info("apps reconciler: stopping %s: the Syncthing controller says so", name)
                await self.engine.stop(name)
                report.stopped.append(name)
            elif status not in ("running", "paused"):
                report.waiting.append(name)
            return
        if desired == STOPPED:
            if status in ("running", "restarting"):
                await self.engine.stop(name)
                report.stopped.append(name)
                await self._observe(name, "started outside", {"status": status})
            return
        if status in ("running", "paused"):
            ladder.running(now)
            return
        if not ladder.due(now):
            report.waiting.append(name)
            return
        if ladder.attempts == 0:
            await self._observe(
                name, "exited", {"exitCode": state.get("ExitCode"), "status": status}
            )
        ladder.attempted(now)
        try:
            if self.volumes is not None:  # after a reboot the loop mounts are gone
                await self.volumes.mount(name)
            await self.engine.start(name)
        except FluxError as error:
            report.failed[name] = error.message
            log.warning("apps reconciler: %s did not start: %s", name, error.message)
            return
        report.started.append(name)
        log.info(
            "apps reconciler: started %s (attempt %d, exit code %s); next wait %.0f s",
            name,
            ladder.attempts,
            state.get("ExitCode"),
            ladder.next_wait(),
        )

    async def _observe(self, name: str, event: str, details: dict[str, Any]) -> None:
        if self.observer is not None:
            await self.observer(name, event, details)
