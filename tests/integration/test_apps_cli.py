"""`fluxos apps` as a real process, reading the height from a real JSON-RPC server."""

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from fluxos.jsonrpc import JsonRpcServer

SPEC = {
    "version": 7,
    "name": "blockbookneurai",
    "description": "Blockbook for Neurai",
    "owner": "1XcNTEsgVND4eb3bsVa2bjktnZZSruVct",
    "compose": [
        {
            "name": "blockbookneurai",
            "description": "Blockbook for Neurai",
            "repotag": "runonflux/blockbook-docker:latest",
            "ports": [38382, 38383],
            "domains": ["", ""],
            "environmentParameters": [],
            "commands": [],
            "containerPorts": [9199, 1337],
            "containerData": "/root",
            "cpu": 2.5,
            "ram": 5000,
            "hdd": 40,
            "tiered": False,
            "secrets": "",
            "repoauth": "",
        }
    ],
    "instances": 3,
    "contacts": [],
    "geolocation": [],
    "expire": 22000,
    "nodes": [],
    "staticip": False,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def daemon() -> Iterator[str]:
    """A fluxd stand-in answering getblockcount = 1,000,000, before v7 existed."""
    rpc = JsonRpcServer({"getblockcount": lambda: 1_000_000}, user="flux", password="secret")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(rpc.app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "RPC server did not start"
        time.sleep(0.02)
    yield f"http://flux:secret@127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def run(*args: str, module: bool = True) -> subprocess.CompletedProcess[str]:
    launcher = (
        ["-m", "fluxos.apps"]
        if module
        else ["-c", "from fluxos.apps.command import apps_app; apps_app()"]
    )
    return subprocess.run(
        [sys.executable, *launcher, *args], capture_output=True, text=True, timeout=60
    )


def test_verify_in_a_subprocess(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    ok = run("verify", str(spec), module=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["compose"][0]["repoauth"] == ""
    spec.write_text(json.dumps(dict(SPEC, instances=101)))
    bad = run("verify", str(spec))
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["data"]["message"] == "Maximum number of instances is 100"


def test_height_comes_from_the_daemon(tmp_path: Path, daemon: str) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    result = run("verify", str(spec), "--rpc-url", daemon)
    assert result.returncode == 1
    assert (
        json.loads(result.stdout)["data"]["message"]
        == "Flux apps specifications of version 7 not yet supported"
    )


def test_price_warns_about_its_fallbacks_on_stderr(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    result = run("price", str(spec), "--height", "2200000")
    assert result.returncode == 0
    assert json.loads(result.stdout)["usd"] == 1.41
    assert "using the configured rate 0.6" in result.stderr
