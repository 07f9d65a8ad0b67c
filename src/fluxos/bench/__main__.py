"""`python -m fluxos.bench`: the benchmark daemon on its own (see `command.run_bench`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from fluxos.bench.command import run_bench
from fluxos.bench.settings import DEFAULT_API_PORT, DEFAULT_RPC_PORT
from fluxos.errors import BadParameter, ConfigError

# The fluxnode key is a secret: it comes from the environment or flux.conf, never argv
# (which every local user can read in the process list).
KEY_ENV = "FLUXBENCH_ZELNODEPRIVKEY"


def main(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Bench data dir (results, key, debug.log); ~/.fluxbenchmark if unset."),
    ] = None,
    rpc_port: Annotated[int, typer.Option(help="JSON-RPC port on 127.0.0.1.")] = DEFAULT_RPC_PORT,
    assume_tier: Annotated[
        str | None,
        typer.Option(help="Report this tier (cumulus/nimbus/stratus) whatever is measured."),
    ] = None,
    ip: Annotated[str | None, typer.Option(help="The node's public IP (no port).")] = None,
    api_port: Annotated[int, typer.Option(help="The node's FluxOS API port.")] = DEFAULT_API_PORT,
    api_host: Annotated[
        str, typer.Option(help="The address the node's API listens on (its --host).")
    ] = "127.0.0.1",
    download_speed: Annotated[float | None, typer.Option(help="Stated download Mb/s.")] = None,
    upload_speed: Annotated[float | None, typer.Option(help="Stated upload Mb/s.")] = None,
    ping: Annotated[float | None, typer.Option(help="Stated ping, ms.")] = None,
    cpu_seconds: Annotated[float, typer.Option(help="Seconds per CPU test phase.")] = 4.0,
    write_mb: Annotated[int, typer.Option(help="Most MB the disk test writes.")] = 512,
    write_seconds: Annotated[float, typer.Option(help="Most seconds the disk test runs.")] = 4.0,
    disk_kind: Annotated[str, typer.Option(help="auto, ssd or hdd.")] = "auto",
    flux_conf: Annotated[
        Path | None, typer.Option(help="flux.conf to take zelnodeprivkey from.")
    ] = None,
    remeasure: Annotated[bool, typer.Option(help="Ignore a stored result.")] = False,
) -> None:
    """Measure this machine, decide its fluxnode tier, and serve fluxbenchd's JSON-RPC."""
    console = Console(stderr=True)
    # The console shows warnings; the full INFO trail goes to <data-dir>/debug.log.
    handler = RichHandler(console=console, show_path=False, level=logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler])
    try:
        run_bench(
            data_dir or Path.home() / ".fluxbenchmark",
            rpc_port,
            assume_tier,
            public_ip=ip,
            api_port=api_port,
            api_host=api_host,
            download_speed=download_speed,
            upload_speed=upload_speed,
            ping=ping,
            cpu_seconds=cpu_seconds,
            write_test_mb=write_mb,
            write_test_seconds=write_seconds,
            disk_kind=disk_kind,
            fluxnode_key_wif=os.environ.get(KEY_ENV) or None,
            flux_conf=flux_conf,
            remeasure=remeasure,
            console=console,
        )
    except (BadParameter, ConfigError) as exc:
        console.print(f"fluxos bench: {exc}", style="red", highlight=False)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    typer.run(main)
