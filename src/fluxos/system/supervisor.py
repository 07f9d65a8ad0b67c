"""The supervisor of a node's background loops.

Every loop has a name, the conditions it waits for before it starts ("explorer synced",
"dockerd reachable"), a restart backoff, and a visible state. A loop that raises is logged
with its traceback and restarted after its backoff (slept on the node's clock); one that
returns is finished. Shutdown cancels loops in reverse start order. Every state change is
logged, and `status()` is what `fluxos status` and `/metrics` show.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from fluxos.clock import Clock

log = logging.getLogger(__name__)

LoopBody = Callable[[], Awaitable[None]]
STOP_SECONDS = 5.0


class LoopState(StrEnum):
    STARTING = "starting"
    WAITING = "waiting"
    RUNNING = "running"
    BACKING_OFF = "backing off"
    FINISHED = "finished"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Backoff:
    """Restart delays: `initial`, times `factor` after each crash, at most `maximum`;
    back to `initial` once a run lasted `reset_after` seconds."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    reset_after: float = 300.0

    def after(self, previous: float | None) -> float:
        if previous is None:
            return self.initial
        return min(self.maximum, previous * self.factor)


DEFAULT_BACKOFF = Backoff()


class Condition:
    """A named fact loops can wait for; the service that knows it sets and clears it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._event = asyncio.Event()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        if not self._event.is_set():
            log.info("condition %r is now met", self.name)
        self._event.set()

    def clear(self) -> None:
        if self._event.is_set():
            log.info("condition %r no longer holds", self.name)
        self._event.clear()

    async def wait(self) -> None:
        await self._event.wait()


@dataclass
class LoopStatus:
    """One loop as `fluxos status` shows it."""

    name: str
    after: tuple[str, ...]
    state: LoopState = LoopState.STARTING
    detail: str = ""
    since: float = 0.0
    restarts: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": str(self.state),
            "detail": self.detail,
            "since": self.since,
            "restarts": self.restarts,
            "lastError": self.last_error,
            "after": list(self.after),
        }


@dataclass
class _Loop:
    body: LoopBody
    backoff: Backoff
    status: LoopStatus
    task: asyncio.Task[None] | None = field(default=None)


class Supervisor:
    """Owns a node's background loops (see the module docstring)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._loops: dict[str, _Loop] = {}
        self._conditions: dict[str, Condition] = {}
        self._started = False

    # -- declaring ----------------------------------------------------------------------
    def condition(self, name: str) -> Condition:
        """The condition called `name` (created on first use)."""
        found = self._conditions.get(name)
        if found is None:
            found = self._conditions[name] = Condition(name)
        return found

    def add(
        self,
        name: str,
        body: LoopBody,
        *,
        after: tuple[str, ...] = (),
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        """Run `body` with the node, once every condition in `after` is met."""
        if name in self._loops:
            raise ValueError(f"a background loop named {name!r} is already registered")
        for condition in after:
            self.condition(condition)
        loop = _Loop(body, backoff, LoopStatus(name, after, since=self._clock.time()))
        self._loops[name] = loop
        if self._started:
            self._launch(loop)

    def report(self, name: str, detail: str) -> None:
        """A running loop says what it is doing (shown beside its state)."""
        loop = self._loops.get(name)
        if loop is not None and loop.status.detail != detail:
            loop.status.detail = detail
            log.debug("loop %s: %s", name, detail)

    # -- running ------------------------------------------------------------------------
    async def start(self) -> None:
        self._started = True
        for loop in self._loops.values():
            self._launch(loop)

    async def stop(self, grace: float = STOP_SECONDS) -> None:
        """Cancel every loop, newest first, waiting up to `grace` seconds for each to end."""
        self._started = False
        for loop in reversed(list(self._loops.values())):
            task, loop.task = loop.task, None
            if task is None or task.done():
                continue
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                log.warning(
                    "loop %s did not stop within %.0f s; leaving it", loop.status.name, grace
                )
            self._set(loop, LoopState.STOPPED, "")

    def status(self) -> list[LoopStatus]:
        return [loop.status for loop in self._loops.values()]

    def state(self, name: str) -> LoopState:
        return self._loops[name].status.state

    def _launch(self, loop: _Loop) -> None:
        loop.task = asyncio.create_task(self._supervise(loop), name=loop.status.name)

    async def _supervise(self, loop: _Loop) -> None:
        status = loop.status
        delay: float | None = None
        while True:
            for name in status.after:
                condition = self._conditions[name]
                if not condition.is_set:
                    self._set(loop, LoopState.WAITING, f"waiting for {name}")
                    await condition.wait()
            self._set(loop, LoopState.RUNNING, "")
            began = self._clock.monotonic()
            try:
                await loop.body()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                ran = self._clock.monotonic() - began
                delay = None if ran >= loop.backoff.reset_after else delay
                delay = loop.backoff.after(delay)
                status.restarts += 1
                status.last_error = f"{type(error).__name__}: {error}"
                log.exception(
                    "loop %s failed after %.1f s; restarting it in %.1f s", status.name, ran, delay
                )
                self._set(loop, LoopState.BACKING_OFF, f"after {status.last_error}")
                await self._clock.sleep(delay)
                continue
            self._set(loop, LoopState.FINISHED, "")
            return

    def _set(self, loop: _Loop, state: LoopState, detail: str) -> None:
        status = loop.status
        if status.state is state and status.detail == detail:
            return
        log.info(
            "loop %s: %s -> %s%s",
            status.name,
            status.state,
            state,
            f" ({detail})" if detail else "",
        )
        status.state = state
        status.detail = detail
        status.since = self._clock.time()
