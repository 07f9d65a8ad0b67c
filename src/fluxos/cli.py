"""The `fluxos` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fluxos import FLUXOS_COMPAT_VERSION, __version__
from fluxos.config import load_settings
from fluxos.errors import ConfigError
from fluxos.system.logfiles import configure_logging

app = typer.Typer(
    help="FluxOS node software for the Flux decentralized cloud.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect the node's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Node data directory (default ~/.fluxos or $FLUXOS_DATA_DIR)."),
]


def _settings(data_dir: Path | None, **overrides: object):  # type: ignore[no-untyped-def]
    try:
        return load_settings(data_dir, overrides)
    except ConfigError as error:
        err_console.print(f"[red]fluxos:[/red] {error}")
        raise typer.Exit(2) from None


@app.command()
def start(
    data_dir: DataDir = None,
    api_port: Annotated[
        int | None, typer.Option("--api-port", help="API port (16127, 16137, … 16197).")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
) -> None:
    """Run a Flux node."""
    from fluxos.node import serve

    settings = _settings(data_dir, apiport=api_port, host=host)
    configure_logging(settings.log_dir, settings.log_level, settings.log_console)
    serve(settings)


def _register_bench() -> None:
    """`fluxos bench` is the bench's own command (`python -m fluxos.bench`), same options."""
    from fluxos.bench.__main__ import main as bench_main

    app.command(
        "bench",
        help="Measure this machine, decide its fluxnode tier, and serve fluxbenchd's JSON-RPC.",
    )(bench_main)


_register_bench()


@app.command()
def version() -> None:
    """Print the fluxos version and the FluxOS version it is compatible with."""
    console.print(f"fluxos {__version__} (FluxOS API {FLUXOS_COMPAT_VERSION})")


@config_app.command("show")
def config_show(data_dir: DataDir = None) -> None:
    """Print the effective settings as JSON."""
    settings = _settings(data_dir)
    console.print_json(json.dumps(settings.public_view()))


def main() -> None:
    app()
