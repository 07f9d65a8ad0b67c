"""Where fluxd's and the bench's debug.log are found, and their tails."""

from pathlib import Path

import pytest

from fluxos.daemon.logs import bench_log, daemon_log
from fluxos.errors import FluxError, NotFound


async def test_daemon_log_in_its_data_dir(tmp_path: Path) -> None:
    log = daemon_log(tmp_path)
    with pytest.raises(NotFound, match=r"^Daemon debug file not found \(looked in .*debug.log\)$"):
        log.path()
    with pytest.raises(FluxError, match=r"^Error obtaining Daemon debug file: Daemon debug file"):
        await log.tail()
    lines = [f"line {n}\n" for n in range(150)]
    (tmp_path / "debug.log").write_text("".join(lines))
    assert log.path() == tmp_path / "debug.log"
    assert await log.tail() == "".join(lines[-100:])


def test_no_data_dir_known() -> None:
    with pytest.raises(NotFound, match=r"no data dir is known"):
        daemon_log(None).path()


async def test_bench_log_falls_back_to_the_legacy_dir(tmp_path: Path) -> None:
    log = bench_log(tmp_path / ".fluxbenchmark")
    legacy = tmp_path / ".zelbenchmark" / "debug.log"
    legacy.parent.mkdir()
    legacy.write_text("old bench\n")
    assert log.path() == legacy
    assert await log.tail() == "old bench\n"
    current = tmp_path / ".fluxbenchmark" / "debug.log"
    current.parent.mkdir()
    current.write_text("new bench\n")
    assert log.path() == current
