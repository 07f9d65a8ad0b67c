"""fluxd's and the bench's debug.log, for `/flux/daemondebug`, `/flux/benchmarkdebug` and their
tails (spec system.md §5): where each file is, and its last lines."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fluxos.errors import FluxError, NotFound
from fluxos.system.logfiles import tail

TAIL_LINES = 100


@dataclass(frozen=True)
class DaemonLog:
    """One daemon's debug.log: `label` names it in messages ("Daemon", "Benchmark")."""

    label: str
    candidates: tuple[Path, ...]  # the first that exists is served

    def path(self) -> Path:
        """The file to serve; NotFound (naming where it was looked for) when there is none."""
        for candidate in self.candidates:
            if candidate.is_file():
                return candidate
        looked = ", ".join(str(c) for c in self.candidates) or "nowhere: no data dir is known"
        raise NotFound(f"{self.label} debug file not found (looked in {looked})")

    async def tail(self) -> str:
        """The last 100 lines; upstream's `Error obtaining <label> debug file: …` on failure."""
        try:
            path = self.path()
            return await asyncio.to_thread(tail, path, TAIL_LINES)
        except (OSError, NotFound) as error:
            detail = error.message if isinstance(error, FluxError) else str(error)
            raise FluxError(f"Error obtaining {self.label} debug file: {detail}") from error


def daemon_log(datadir: Path | None) -> DaemonLog:
    """fluxd writes debug.log into its data dir (flux.conf `datadir`, else the conf's dir)."""
    return DaemonLog("Daemon", (datadir / "debug.log",) if datadir else ())


def bench_log(bench_dir: Path) -> DaemonLog:
    """The bench writes debug.log into its data dir; old benches used ~/.zelbenchmark."""
    legacy = bench_dir.parent / ".zelbenchmark" / "debug.log"
    return DaemonLog("Benchmark", (bench_dir / "debug.log", legacy))
