"""`fluxos explorer rescan` as a real command against a devnet process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.explorer.conftest import clean_rebuild, populate
from tests.support.devnetprocess import DevnetProcess
from tests.support.explorerdb import snapshot_file


def rescan(data_dir: Path, devnet: DevnetProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLUXOS_FLUXD_CONF": str(devnet.conf_file(0)), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "fluxos", "explorer", "rescan", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_rescan_indexes_to_the_tip_and_again_from_a_height(tmp_path: Path) -> None:
    devnet = DevnetProcess(tmp_path / "devnet", nodes=2).start()
    try:
        populate(devnet, rounds=4, sends=20, seed=3)
        tip = devnet.rpc(0).call("getblockcount")
        data_dir = tmp_path / "node"
        first = rescan(data_dir, devnet)
        assert first.returncode == 0, first.stderr
        assert f"scanned height {tip}" in first.stdout
        assert "blocks/s" in first.stdout and "tx/s" in first.stdout
        clean = clean_rebuild(devnet, tmp_path / "clean")
        assert snapshot_file(data_dir / "fluxos.db") == clean

        again = rescan(data_dir, devnet, "--from", str(tip - 9), "--blocks", "verbose")
        assert again.returncode == 0, again.stderr
        assert f"forgot the blocks above {tip - 10}" in again.stdout
        assert "indexed 10 blocks" in again.stdout
        assert snapshot_file(data_dir / "fluxos.db") == clean
    finally:
        devnet.stop()


def test_rescan_without_a_fluxd_says_what_to_configure(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FLUXOS_FLUXD_CONF"}
    result = subprocess.run(
        [sys.executable, "-m", "fluxos", "explorer", "rescan", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "set fluxd_conf" in result.stderr
