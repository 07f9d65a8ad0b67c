"""Starting, restarting and reindexing fluxd and the bench on request (spec system.md §3).

Upstream shells out to `fluxd`, `fluxbenchd` and helper scripts. Here: when the node runs
the embedded devnet and bench it acts on those children; otherwise it runs the command
configured for the action under `[hooks]` (argv, no shell, with a timeout); with neither,
the action is refused with `NotManaged`, naming the hook that would enable it.
Success and failure messages are upstream's.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fluxos.configsections import HookSettings
from fluxos.daemon.embedded import EmbeddedDaemons
from fluxos.errors import FluxError, NotManaged
from fluxos.system.children import ChildFailed
from fluxos.system.hooks import run_hook

log = logging.getLogger(__name__)

# action (also the name of its hook setting) → (success message, failure prefix)
_ACTIONS: dict[str, tuple[str, str]] = {
    "daemon_start": ("Daemon successfully started", "Error starting Daemon"),
    "daemon_restart": ("Daemon successfully restarted", "Error restarting Daemon"),
    "daemon_reindex": ("Daemon successfully reindexing", "Error reindexing Daemon"),
    "bench_start": ("Benchmark successfully started", "Error starting Benchmark"),
    "bench_restart": ("Benchmark successfully restarted", "Error restarting Benchmark"),
    "daemon_update": ("Daemon successfully updated", "Error updating Daemon"),
    "bench_update": ("Benchmark successfully updated", "Error updating Benchmark"),
}


class ProcessControl:
    """The daemon and bench control actions of the API; each returns its success message."""

    def __init__(
        self,
        embedded: EmbeddedDaemons | None,
        hooks: HookSettings,
        fluxd_conf: Path | None = None,
    ) -> None:
        self.embedded = embedded
        self.hooks = hooks
        self.fluxd_conf = fluxd_conf

    async def start_daemon(self) -> str:
        return await self._act("daemon_start")

    async def restart_daemon(self) -> str:
        return await self._act("daemon_restart")

    async def reindex_daemon(self) -> str:
        return await self._act("daemon_reindex")

    async def start_bench(self) -> str:
        return await self._act("bench_start")

    async def restart_bench(self) -> str:
        return await self._act("bench_restart")

    async def update_daemon(self) -> str:
        """With the embedded devnet: restart it on the installed code (it ships with us)."""
        return await self._act("daemon_update")

    async def update_bench(self) -> str:
        return await self._act("bench_update")

    def expect_exit(self, target: str, expected: bool = True) -> None:
        """An RPC `stop` is about to end `target` (`fluxd`/`fluxbench`): when the node runs
        it, it must not be restarted. `expected=False` takes that back."""
        if self.embedded is not None:
            self.embedded.child(target).expect_exit(expected)

    async def _act(self, action: str) -> str:
        success, failure = _ACTIONS[action]
        if self.embedded is not None:
            try:
                await self._embedded_action(self.embedded, action)
            except ChildFailed as error:
                raise FluxError(f"{failure}: {error}") from error
            return success
        argv = getattr(self.hooks, action)
        if not argv:
            raise NotManaged(self._not_managed(action))
        await self._run_hook(action, argv, failure)
        return success

    async def _embedded_action(self, embedded: EmbeddedDaemons, action: str) -> None:
        if action == "daemon_start":
            await embedded.start_devnet()
        elif action == "daemon_restart":
            await embedded.restart_devnet()
        elif action in ("daemon_reindex", "daemon_update"):
            # the devnet rebuilds its indexes from its stored blocks when it starts
            await embedded.restart_devnet()
        elif action == "bench_start":
            await embedded.start_bench()
        else:  # bench_restart, bench_update
            await embedded.restart_bench()
        log.info("%s done on the embedded %s", action, "devnet" if "daemon" in action else "bench")

    def _not_managed(self, action: str) -> str:
        thing = "fluxd" if action.startswith("daemon") else "the benchmark daemon"
        where = f" (flux.conf {self.fluxd_conf})" if self.fluxd_conf else ""
        verb = action.split("_", 1)[1]
        return (
            f"{thing} is not managed by this node{where}: it cannot {verb} it. "
            f"Set [hooks] {action} in fluxos.toml to the command that does."
        )

    async def _run_hook(self, action: str, argv: tuple[str, ...], failure: str) -> None:
        await run_hook(action, argv, limit=self.hooks.timeout, failure=failure)
