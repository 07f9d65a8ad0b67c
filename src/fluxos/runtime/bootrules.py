"""What the apps do when the node starts again (upstream 8.18's appStartupManager): a
heartbeat every 30 s while the node runs, marked clean when it stops in order; at start
the time since the last heartbeat says whether the network still counts this node's apps.

* a clean stop longer ago than the SIGTERM grace (its peers shortened its locations to
  7 min), or any stop longer ago than a location's lifetime (125 min, a power loss):
  other nodes have taken the apps' places, so every app here is removed (and the
  removal broadcast);
* otherwise, and on the first start ever, the apps stay and the reconciler brings them
  back to their wished state.

The reconciler waits for this decision (the condition `apps boot settled`), so no app
starts only to be removed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.runtime.tampering import boot_id
from fluxos.storage.nodestate import NodeState

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "runtime.heartbeat"
BEAT_SECONDS = 30.0
SIGTERM_SECONDS = 420.0  # a clean stop's locations live this long (apps.locations)


@dataclass(frozen=True)
class BootContext:
    first_boot: bool
    clean: bool  # the node stopped in order last time
    downtime: float  # seconds since the last heartbeat
    machine_rebooted: bool

    def locations_expired(self, location_seconds: float) -> bool:
        if self.first_boot:
            return False
        sigterm = min(SIGTERM_SECONDS, location_seconds)
        return (self.clean and self.downtime > sigterm) or self.downtime > location_seconds


class BootKeeper:
    def __init__(
        self,
        state: NodeState,
        clock: Clock,
        *,
        location_seconds: float,
        remove_all: Callable[[str], Awaitable[int]],
        settled: Callable[[], None],
        beat_seconds: float = BEAT_SECONDS,
    ) -> None:
        self.state = state
        self.clock = clock
        self.location_seconds = location_seconds
        self.remove_all = remove_all
        self.settled = settled
        self.beat_seconds = beat_seconds
        self.boot = boot_id()
        self.context: BootContext | None = None
        self.removed = 0

    async def read(self) -> BootContext:
        beat: dict[str, Any] | None = await self.state.get(HEARTBEAT_KEY)
        if not beat:
            return BootContext(True, False, float("inf"), True)
        return BootContext(
            first_boot=False,
            clean=beat.get("shutdownReason") == "sigterm",
            downtime=max(0.0, self.clock.time() - float(beat.get("lastAlive") or 0)),
            machine_rebooted=not self.boot or beat.get("machineBootId") != self.boot,
        )

    async def beat(self, reason: str | None = None) -> None:
        now = self.clock.time()
        document = {"lastAlive": now, "machineBootId": self.boot, "shutdownReason": reason}
        await self.state.put(HEARTBEAT_KEY, document, now)

    async def run(self) -> None:
        """Decide once, then keep the heartbeat (the supervised loop)."""
        if self.context is None:
            self.context = context = await self.read()
            log.info(
                "apps at boot: first boot %s, clean stop %s, down %.0f s, machine rebooted %s",
                context.first_boot, context.clean, context.downtime, context.machine_rebooted,
            )  # fmt: skip
            if context.locations_expired(self.location_seconds):
                reason = f"down {context.downtime:.0f} s, locations expired"
                try:
                    self.removed = await self.remove_all(reason)
                except FluxError as error:  # Docker away: the next start decides again
                    log.warning("apps at boot: removal failed: %s", error.message)
                    raise
            await self.beat()
            self.settled()
        while True:
            await self.clock.sleep(self.beat_seconds)
            await self.beat()

    async def stopped(self) -> None:
        """The node stops in order: its peers expire its locations after the grace."""
        if self.context is not None:
            await self.beat("sigterm")
