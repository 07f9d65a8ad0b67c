"""`fluxos syncthing …`: the node's Syncthing from the command line. The node never stops
its Syncthing (app data keeps flowing across node restarts); this is how an operator does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fluxos.clock import SystemClock
from fluxos.config import Settings, load_settings
from fluxos.errors import ConfigError
from fluxos.sync.service import SyncService

app = typer.Typer(help="The node's Syncthing (app data replication).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Node data directory (default ~/.fluxos or $FLUXOS_DATA_DIR)."),
]
Host = Annotated[
    str | None, typer.Option("--host", help="The node's address, as given to `fluxos start`.")
]


def _service(data_dir: Path | None, host: str | None) -> SyncService:
    try:
        settings: Settings = load_settings(data_dir, {"host": host})
    except ConfigError as error:
        err_console.print(f"[red]fluxos:[/red] {error}")
        raise typer.Exit(2) from None
    return SyncService(settings, SystemClock(), managed=settings.syncthing.managed)


@app.command("status")
def status(data_dir: DataDir = None, host: Host = None) -> None:
    """Whether the node's Syncthing runs, its pid, API address and device id."""
    raise typer.Exit(asyncio.run(_status(_service(data_dir, host))))


async def _status(service: SyncService) -> int:
    try:
        pid = service.running_pid()
        device = await service.device_id()
    finally:
        await service.aclose()
    console.print(f"home      {service.home}")
    console.print(f"API       http://{service.layout.gui_address}")
    console.print(f"listening {', '.join(service.layout.listen_addresses)}")
    console.print(f"pid       {pid if pid is not None else '-'}")
    if device is None:
        console.print("[red]Syncthing does not answer[/red]")
        return 1
    console.print(f"device id {device}")
    return 0


@app.command("stop")
def stop(data_dir: DataDir = None, host: Host = None) -> None:
    """Stop the node's Syncthing (app folders stop syncing until the node starts it again)."""
    raise typer.Exit(asyncio.run(_stop(_service(data_dir, host))))


async def _stop(service: SyncService) -> int:
    try:
        stopped = await service.stop_process()
    finally:
        await service.aclose()
    console.print("Syncthing stopped" if stopped else "Syncthing was not running")
    return 0
