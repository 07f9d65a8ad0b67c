"""One report, shortly after the node started, of what it could not start or reach.

A node on a fresh machine (`make run` without Docker or Syncthing) still serves its API;
the operator should not have to read every log line to learn what is missing. After a
short delay the report asks dockerd for its version and Syncthing's loop for its
problem, and logs one WARNING naming each missing part, what it means for the node and
how to fix it (or one INFO line saying everything runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.system.components import ComponentProbe

log = logging.getLogger(__name__)

REPORT_DELAY = 15.0
DOCKER_FIX = (
    "apps cannot be installed or run until it answers; install it "
    "(`apt-get install docker.io`) and start it (`systemctl start docker`, or `dockerd &`)"
)


@dataclass(frozen=True)
class Missing:
    part: str
    why: str
    consequence: str

    def line(self) -> str:
        return f"{self.part}: {self.why} — {self.consequence}"


class StartupReport:
    def __init__(
        self,
        components: ComponentProbe,
        syncthing_problem: Callable[[], str | None],
        syncthing_enabled: Callable[[], bool],
        clock: Clock,
        *,
        delay: float = REPORT_DELAY,
    ) -> None:
        self.components = components
        self.syncthing_problem = syncthing_problem
        self.syncthing_enabled = syncthing_enabled
        self.clock = clock
        self.delay = delay
        self.missing: list[Missing] | None = None  # None until the report ran

    async def check(self) -> list[Missing]:
        missing: list[Missing] = []
        try:
            await self.components.docker_version()
        except FluxError as error:
            missing.append(Missing("Docker", error.message, DOCKER_FIX))
        if self.syncthing_enabled():
            problem = self.syncthing_problem()
            if problem:
                missing.append(
                    Missing("Syncthing", problem, "app data is not replicated until it runs")
                )
        return missing

    async def run(self) -> None:
        """The background loop: wait, check once, log, finish."""
        await self.clock.sleep(self.delay)
        self.missing = await self.check()
        if not self.missing:
            log.info("startup check: Docker and Syncthing are running")
            return
        log.warning(
            "this node started without %s:\n  %s",
            " and ".join(item.part for item in self.missing),
            "\n  ".join(item.line() for item in self.missing),
        )
