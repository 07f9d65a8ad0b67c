"""The home port (API port - 1) under load: the built-in status page (a node with no
fluxd: every part it cannot read says so), then an installed UI bundle's index.html
fallback and one of its assets. wrk, 3 runs each, medians of requests/s and latency."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from _loadgen import median, run_wrk, start_node, wait_for

HOST = "127.0.0.63"
API_PORT = 16127
HOME = f"http://{HOST}:{API_PORT - 1}"
ROUNDS = 3


def bundle(path: Path) -> str:
    """A bundle shaped like the frontend's: index.html and 40 KiB of JavaScript."""
    files = {
        "dist/index.html": b"<!doctype html><html><body><div id=app></div></body></html>",
        "dist/assets/index-0a1b2c.js": b"console.log(1);" * 2800,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def measure(label: str, url: str) -> None:
    runs = [run_wrk(url, connections=16, seconds=5) for _ in range(ROUNDS)]
    errors = sum(run.errors for run in runs)
    print(
        f"{label:34} {median([r.requests_per_second for r in runs]):8.0f} req/s   "
        f"p50 {median([r.p50_ms for r in runs]):6.2f} ms   "
        f"p99 {median([r.p99_ms for r in runs]):6.2f} ms   errors {errors}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "node"
        env = {"FLUXOS_DAEMON": '{"embedded": false}', "FLUXOS_UI": '{"release_url": ""}'}
        process = start_node(data_dir, HOST, API_PORT, env)
        try:
            wait_for(HOME + "/health")
            print(f"home port of a node with no fluxd, {ROUNDS} wrk runs of 5 s, 16 connections")
            measure("built-in status page /", HOME + "/")
            measure("built-in page's /status.json", HOME + "/status.json")
            digest = bundle(Path(tmp) / "dist.tar.gz")
            install = [sys.executable, "-m", "fluxos", "ui", "install"]
            install += [str(Path(tmp) / "dist.tar.gz"), "--sha256", digest]
            subprocess.run([*install, "--data-dir", str(data_dir)], check=True, capture_output=True)
            measure("bundle: app route (index.html)", HOME + "/dashboard/overview")
            measure("bundle: asset (40 KiB js)", HOME + "/assets/index-0a1b2c.js")
        finally:
            process.terminate()
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
