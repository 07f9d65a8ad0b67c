"""`/flux/allowport` (spec system.md §7.1): open a port in the host firewall through the
operator's `[hooks] allow_port` command (upstream: `ufw allow <port> && ufw allow out
<port>`), with the port appended as its last argument. The command's output decides, as
upstream reads ufw's: `updated`/`added` is success, `existing` is success with that word,
anything else is an error carrying the output."""

from __future__ import annotations

from dataclasses import dataclass

from fluxos.configsections import HookSettings
from fluxos.errors import FluxError
from fluxos.system.hooks import run_hook


@dataclass(frozen=True)
class PortOpened:
    port: str
    message: str


async def allow_port(hooks: HookSettings, port: str) -> PortOpened:
    if not port.strip().isdigit():
        raise FluxError("Port needs to be a number", code=port, name=port)
    if not hooks.allow_port:
        raise FluxError(
            "allowport is not supported by this node: set [hooks] allow_port in fluxos.toml "
            'to the command that opens a port (the port is appended), e.g. ["ufw", "allow"]'
        )
    output = await run_hook(
        "allow_port",
        (*hooks.allow_port, port.strip()),
        limit=hooks.timeout,
        failure=f"Error opening port {port}",
    )
    if "updated" in output or "added" in output:
        return PortOpened(port, output)
    if "existing" in output:
        return PortOpened(port, "existing")
    raise FluxError(output or f"Unknown error while opening port {port}", code=port, name=port)
