"""`fluxos devnet`: run a devnet in the foreground until Ctrl-C, SIGTERM or the `stop` RPC."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from fluxos.devnet.server import DEFAULT_START_HEIGHT, Devnet

log = logging.getLogger(__name__)


class _GenerateProgress:
    """A rich progress bar for long `generate` runs (called from the chain thread)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if total < 50:
            return
        if self._progress is None or done == 1:
            self.close()
            self._progress = Progress(
                TextColumn("mining"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=self.console, transient=True,
            )  # fmt: skip
            self._progress.start()
            self._task = self._progress.add_task("blocks", total=total)
        assert self._task is not None
        self._progress.update(self._task, completed=done)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def run_devnet(
    data_dir: Path,
    rpc_port: int = 16124,
    nodes: int = 1,
    start_height: int = DEFAULT_START_HEIGHT,
    block_time: float | None = None,
) -> None:
    """Run a devnet in the foreground (blocking); Ctrl-C or SIGTERM stops it cleanly."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    console = Console(stderr=True)
    progress = _GenerateProgress(console)
    try:
        asyncio.run(_main(data_dir, rpc_port, nodes, start_height, block_time, console, progress))
    finally:
        progress.close()


async def _main(
    data_dir: Path,
    rpc_port: int,
    nodes: int,
    start_height: int,
    block_time: float | None,
    console: Console,
    progress: _GenerateProgress,
) -> None:
    devnet = Devnet(
        data_dir, rpc_port=rpc_port, nodes=nodes, start_height=start_height,
        block_time=block_time, progress=progress,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, devnet.engine.request_stop)
    try:
        await devnet.start()
        console.print(_summary(devnet))
        await devnet.wait_stopped()
        console.print("stopping devnet…")
    finally:
        await devnet.stop()


def _summary(devnet: Devnet) -> Table:
    table = Table(title=f"fluxos devnet — height {devnet.engine.chain.height}")
    for column in ("endpoint", "rpc url", "rpcuser", "flux.conf", "fluxnode"):
        table.add_column(column)
    for e in devnet.endpoints:
        table.add_row(str(e.index + 1), e.url, e.user, str(e.conf_path), e.fluxnode_ip or "-")
    return table
