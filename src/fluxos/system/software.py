"""FluxOS's own software actions (spec system.md §3): restart, the update flavours, the UI
rebuild and the branch switches.

Upstream runs git, npm and pm2. A fluxos node is installed by a package or an installer,
so each action runs the command configured under `[hooks]`; an unset one is refused with
a message naming the hook, except the UI rebuild, which then installs the latest UI
release itself (`fluxos.web.release`). `/flux/restart` answers first and restarts
afterwards: through the `restart` hook when one is set (systemd, a container runtime),
else by shutting the server down and re-executing the same command line in this process.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fluxos.configsections import HookSettings
from fluxos.errors import FluxError
from fluxos.system.hooks import launch_detached, run_hook

log = logging.getLogger(__name__)

RESTARTING = "Restarting FluxOS"


@dataclass(frozen=True)
class SoftwareAction:
    hook: str
    route: str
    success: str
    failure: str


ACTIONS: dict[str, SoftwareAction] = {
    action.hook: action
    for action in (
        SoftwareAction(
            "update_flux", "updateflux", "Flux successfully updated", "Error updating Flux"
        ),
        SoftwareAction(
            "soft_update_flux",
            "softupdateflux",
            "Flux successfully soft updated",
            "Error soft updating Flux",
        ),
        SoftwareAction(
            "soft_update_flux_install",
            "softupdatefluxinstall",
            "Flux successfully soft updated with installation",
            "Error soft updating Flux with installation",
        ),
        SoftwareAction(
            "hard_update_flux",
            "hardupdateflux",
            "Flux successfully hard updated",
            "Error hard updating Flux",
        ),
        SoftwareAction(
            "rebuild_ui", "rebuildui", "Flux UI successfully rebuilt", "Error rebuilding Flux UI"
        ),
        SoftwareAction(
            "enter_master",
            "entermaster",
            "Master branch successfully entered",
            "Error entering Master branch",
        ),
        SoftwareAction(
            "enter_development",
            "enterdevelopment",
            "Development branch successfully entered",
            "Error entering Development branch",
        ),
    )
}


class Restarter:
    """Restarts the node after the reply to `/flux/restart` has gone out.

    The server that runs the node sets `shutdown` (stop serving); `serve()` then sees
    `reexec_requested` and replaces the process with a fresh start of the same command.
    """

    def __init__(self, hooks: HookSettings) -> None:
        self.hooks = hooks
        self.shutdown: Callable[[], None] | None = None
        self.reexec_requested = False
        self.fatal_reason: str | None = None

    def stop(self, reason: str) -> None:
        """Stop serving and exit non-zero with `reason` (a requirement the node lacks)."""
        log.error("FluxOS stops: %s", reason)
        self.fatal_reason = reason
        if self.shutdown is not None:
            self.shutdown()

    async def restart(self) -> None:
        if self.hooks.restart:
            await launch_detached("restart", self.hooks.restart)
            return
        if self.shutdown is None:
            log.error("restart requested, but this node runs without a server to restart")
            return
        log.warning("restarting FluxOS on request: stopping, then starting again")
        self.reexec_requested = True
        self.shutdown()


class SoftwareControl:
    """The software routes' actions; each returns upstream's success message. An action
    in `builtin` (the UI rebuild: install the latest release bundle) is what an unset
    hook does instead of refusing."""

    def __init__(
        self,
        hooks: HookSettings,
        builtin: Mapping[str, Callable[[], Awaitable[str]]] | None = None,
    ) -> None:
        self.hooks = hooks
        self.restarter = Restarter(hooks)
        self.builtin = dict(builtin or {})

    async def run(self, hook: str) -> str:
        action = ACTIONS[hook]
        argv = getattr(self.hooks, hook)
        if not argv and hook in self.builtin:
            return await self.builtin[hook]()
        if not argv:
            raise FluxError(
                f"{action.route} is not supported by this node: software updates are managed "
                f"by the package/installer. Set [hooks] {hook} in fluxos.toml to the command "
                "that does it."
            )
        await run_hook(hook, argv, limit=self.hooks.timeout, failure=action.failure)
        return action.success
