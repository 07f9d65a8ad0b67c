"""`fluxos explorer …`: index the chain from the command line, with a progress bar."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fluxos.chain.fluxd import FluxdConfig, discover_flux_conf, fluxd_client
from fluxos.clock import SystemClock
from fluxos.config import Settings, load_settings
from fluxos.errors import ConfigError
from fluxos.explorer.indexes import BatchResult
from fluxos.explorer.queries import ExplorerQueries
from fluxos.explorer.scanner import ScannerOptions
from fluxos.explorer.service import Explorer
from fluxos.explorer.source import BlockFormat
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database

app = typer.Typer(help="The block explorer's indexes.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@app.command("rescan")
def rescan(
    from_height: Annotated[
        int | None,
        typer.Option(
            "--from",
            min=0,
            help="Re-index every block from this height up (default: continue where the "
            "index stops). On an empty index, start indexing at this height.",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Node data directory (default ~/.fluxos)."),
    ] = None,
    block_format: Annotated[
        BlockFormat,
        typer.Option("--blocks", help="Ask fluxd for raw block bytes or verbose JSON."),
    ] = BlockFormat.RAW,
) -> None:
    """Index the chain up to fluxd's tip, showing blocks/s, tx/s and the time left."""
    try:
        settings = load_settings(data_dir)
    except ConfigError as error:
        err_console.print(f"[red]fluxos:[/red] {error}")
        raise typer.Exit(2) from None
    raise typer.Exit(asyncio.run(_rescan(settings, from_height, block_format)))


async def _rescan(settings: Settings, from_height: int | None, block_format: BlockFormat) -> int:
    conf_path = discover_flux_conf(settings.fluxd_conf, Path.home())
    if conf_path is None:
        err_console.print(
            "[red]fluxos:[/red] no fluxd to index: no flux.conf found; set fluxd_conf (its "
            "path) in fluxos.toml or FLUXOS_FLUXD_CONF"
        )
        return 2
    config = FluxdConfig.read(conf_path, testnet=settings.testnet, host=settings.daemon.host)
    rpc = fluxd_client(SystemClock(), config)
    database = Database(settings.database, ALL_AREAS)
    await database.open()
    try:
        scanned = await _scanned(database)
        start = settings.explorer.start_height
        if from_height is not None and scanned is None:
            start = from_height
        explorer = Explorer(
            database,
            rpc,
            development=settings.development,
            options=ScannerOptions(start_height=start),
            block_format=block_format,
        )
        if from_height is not None and scanned is not None:
            height = await explorer.scanner.rewind(from_height - 1)
            console.print(f"explorer: forgot the blocks above {height}; re-indexing")
        return await _index(explorer)
    finally:
        await database.close()
        await rpc.aclose()


async def _scanned(database: Database) -> int | None:
    return await ExplorerQueries(database).scanned_height()


async def _index(explorer: Explorer) -> int:
    began = time.monotonic()
    totals = {"blocks": 0, "txs": 0}
    columns = (
        TextColumn("[bold]indexing[/bold] {task.fields[height]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("blocks · {task.fields[bps]:,.0f} blocks/s · {task.fields[tps]:,.0f} tx/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("index", total=None, height="", bps=0.0, tps=0.0)

        def on_batch(result: BatchResult, tip: int) -> None:
            totals["blocks"] += result.blocks
            totals["txs"] += result.txs
            elapsed = max(time.monotonic() - began, 1e-9)
            done = totals["blocks"]
            progress.update(
                task,
                completed=done,
                total=done + max(tip - result.height, 0),
                height=result.height,
                bps=done / elapsed,
                tps=totals["txs"] / elapsed,
            )

        height = await explorer.scanner.catch_up(on_batch)
    elapsed = time.monotonic() - began
    console.print(
        f"explorer: indexed {totals['blocks']:,} blocks and {totals['txs']:,} transactions in "
        f"{elapsed:.1f} s ({totals['blocks'] / max(elapsed, 1e-9):,.0f} blocks/s, "
        f"{totals['txs'] / max(elapsed, 1e-9):,.0f} tx/s); scanned height {height}"
    )
    return 0
