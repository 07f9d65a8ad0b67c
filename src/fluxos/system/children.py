"""Supervised child processes: start one, wait until it answers, restart it when it dies,
stop it on request or at shutdown.

A child that exits while it is wanted is restarted after a pause that doubles up to 30 s
(reset once it has run for a minute), with a log line naming its exit code and its log
file. On Linux each child is asked to receive SIGTERM if the node dies without stopping
it (PR_SET_PDEATHSIG), so a killed node leaves no orphan holding its ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

READY_POLL_SECONDS = 0.2
FIRST_RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
STABLE_SECONDS = 60.0
STOP_SECONDS = 3.0

ReadyCheck = Callable[[], Awaitable[bool]]


class ChildFailed(Exception):
    """A child exited or did not answer in time while starting."""


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec function that makes the child get SIGTERM when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_signal


@dataclass
class ChildSpec:
    """What to run: a name for logs, the argv, where its output goes, how to tell it is up."""

    name: str
    argv: Callable[[], list[str]]  # rebuilt at every (re)start: ports may change
    log_path: Path
    ready: ReadyCheck
    env: dict[str, str] | None = None
    on_ready: Callable[[], Awaitable[None]] | None = None


class ChildProcess:
    """One supervised child."""

    def __init__(self, spec: ChildSpec, *, ready_timeout: float = 60.0) -> None:
        self.spec = spec
        self.ready_timeout = ready_timeout
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._wanted = False
        self._watcher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._preexec = _parent_death_signal()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def watching(self) -> bool:
        """Whether a watcher still waits on the child (to restart it if it exits unwanted)."""
        return self._watcher is not None and not self._watcher.done()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running and self.process else None

    async def start(self, extra_args: list[str] | None = None) -> None:
        """Start it (if it is not running) and wait until it answers; `ChildFailed` if it
        exits first or does not answer within `ready_timeout` (it keeps running then)."""
        async with self._lock:
            self._wanted = True
            if self.running:
                return
            await self._spawn(extra_args or [])
        await self._wait_ready()

    async def stop(self, grace: float = STOP_SECONDS) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; no restart follows."""
        async with self._lock:
            self._wanted = False
            process = self.process
            if process is not None and process.returncode is None:
                log.info("stopping %s (pid %d)", self.name, process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), grace)
                except TimeoutError:
                    log.warning("%s did not stop within %.0f s; killing it", self.name, grace)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
            if self._watcher is not None and self._watcher is not asyncio.current_task():
                self._watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._watcher
            self._watcher = None

    async def restart(self, extra_args: list[str] | None = None) -> None:
        await self.stop()
        await self.start(extra_args)

    def expect_exit(self, expected: bool = True) -> None:
        """The child is about to exit on request (an RPC `stop`): do not restart it.
        `expect_exit(False)` takes that back (the request failed)."""
        self._wanted = not expected

    async def _spawn(self, extra_args: list[str]) -> None:
        self.process = await self._launch(extra_args)
        self._watcher = asyncio.create_task(self._watch(self.process), name=f"watch-{self.name}")

    async def _launch(self, extra_args: list[str]) -> asyncio.subprocess.Process:
        argv = [*self.spec.argv(), *extra_args]
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_path.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                env=self.spec.env,
                preexec_fn=self._preexec,
            )
        log.info("started %s (pid %d): %s", self.name, process.pid, " ".join(argv[1:]))
        return process

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        while True:
            process = self.process
            if process is None or process.returncode is not None:
                code = process.returncode if process else None
                raise ChildFailed(
                    f"{self.name} exited with code {code} while starting; see {self.spec.log_path}"
                )
            if await self._answers():
                if self.spec.on_ready is not None:
                    await self.spec.on_ready()
                log.info("%s is ready", self.name)
                return
            if loop.time() >= deadline:
                raise ChildFailed(
                    f"{self.name} did not answer within {self.ready_timeout:.0f} s; "
                    f"see {self.spec.log_path}"
                )
            await asyncio.sleep(READY_POLL_SECONDS)

    async def _answers(self) -> bool:
        try:
            return await self.spec.ready()
        except Exception as error:  # a probe failing is the normal "not yet"
            log.debug("%s not ready yet: %s", self.name, error)
            return False

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        """Wait for `process` to end; restart it while it is wanted."""
        loop = asyncio.get_running_loop()
        delay = FIRST_RESTART_DELAY
        started = loop.time()
        while True:
            code = await process.wait()
            if not self._wanted or self.process is not process:
                log.info("%s exited with code %s", self.name, code)
                return
            if loop.time() - started >= STABLE_SECONDS:
                delay = FIRST_RESTART_DELAY
            log.warning(
                "%s exited unexpectedly with code %s; restarting it in %.0f s (output: %s)",
                self.name,
                code,
                delay,
                self.spec.log_path,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)
            async with self._lock:
                if not self._wanted or self.process is not process:
                    return
                self.restarts += 1
                process = self.process = await self._launch([])
                started = loop.time()
            try:
                await self._wait_ready()
            except ChildFailed as error:
                log.warning("%s", error)
