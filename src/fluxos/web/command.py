"""`fluxos ui …`: the operator's web UI on the home port, from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from fluxos.config import Settings, load_settings
from fluxos.errors import ConfigError, FluxError
from fluxos.web.bundle import Installed, UiBundles
from fluxos.web.release import TIMEOUT, install_from

app = typer.Typer(help="The web UI on the home port (API port - 1).", no_args_is_help=True)
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Node data directory (default ~/.fluxos or $FLUXOS_DATA_DIR)."),
]


def _settings(data_dir: Path | None) -> Settings:
    try:
        return load_settings(data_dir)
    except ConfigError as error:
        err_console.print(f"[red]fluxos:[/red] {error}")
        raise typer.Exit(2) from None


def _bundles(settings: Settings) -> UiBundles:
    return UiBundles(settings.data_dir / "ui")


@app.command("install")
def install(
    source: Annotated[str, typer.Argument(help="A dist.tar.gz file, or an http(s) URL of one.")],
    sha256: Annotated[
        str | None,
        typer.Option("--sha256", help="The bundle's expected sha256 (hex, or sha256:hex)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Verify and unpack a UI bundle, then serve it (a running node switches at once)."""
    settings = _settings(data_dir)
    try:
        installed = asyncio.run(_install(settings, source, sha256))
    except FluxError as error:
        typer.echo(f"fluxos ui install: {error.message}", err=True)  # unwrapped: scripts read it
        raise typer.Exit(1) from None
    typer.echo(f"installed {installed.path}")
    typer.echo(f"sha256 {installed.digest}")
    if sha256 is None:
        typer.echo("no --sha256 given: the bundle's digest was not checked", err=True)
    typer.echo(f"served at http://{settings.host}:{settings.home_port}/")


async def _install(settings: Settings, source: str, sha256: str | None) -> Installed:
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True) as http:
        return await install_from(
            _bundles(settings), http, source, sha256, settings.ui.max_download_bytes
        )


@app.command("status")
def status(data_dir: DataDir = None) -> None:
    """Which UI bundle the home port serves (or that it shows the built-in page)."""
    installed = _bundles(_settings(data_dir)).installed()
    if installed is None:
        typer.echo("no UI bundle installed: the home port shows the built-in status page")
        return
    typer.echo(f"serving {installed.path}")
    typer.echo(f"sha256 {installed.digest or '?'}")
