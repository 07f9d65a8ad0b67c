"""`fluxos cluster N` as a user runs it: the table, then Ctrl-C stops every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from tests.support.processes import wait_until


def test_cluster_command_prints_its_nodes_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    output = tmp_path / "cluster.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "fluxos", "cluster", "2", "--data-dir", str(tmp_path / "c")],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "120"},
        )
    try:
        wait_until(lambda: "Ctrl-C stops the cluster" in output.read_text(), timeout=120)
        text = output.read_text()
        assert "http://127.0.0.2:16127" in text and "http://127.0.0.3:16127" in text
        assert "owner ZelID" in text
        version = httpx.get("http://127.0.0.3:16127/flux/version", timeout=5).json()
        assert version == {"status": "success", "data": "8.17.0"}
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) == 3  # the devnet and two nodes
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        assert "stopping the cluster" in output.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
