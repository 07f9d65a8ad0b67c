"""`fluxos apps` as a real process, reading the height from a real JSON-RPC server."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

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


def run_fluxos(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m fluxos apps …`: the apps commands as part of the main CLI."""
    return subprocess.run(
        [sys.executable, "-m", "fluxos", "apps", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def flux_conf(path: Path, daemon_url: str) -> Path:
    parts = urlsplit(daemon_url)
    path.write_text(
        f"rpcuser={parts.username}\nrpcpassword={parts.password}\nrpcport={parts.port}\n"
    )
    return path


def test_height_from_the_flux_conf_in_the_data_dir(tmp_path: Path, daemon: str) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    data_dir = tmp_path / "node"
    data_dir.mkdir()
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("FLUXD_CONFIG_PATH", None)
    before = run_fluxos("verify", str(spec), "--data-dir", str(data_dir), env=env)
    assert before.returncode == 0, before.stdout + before.stderr  # latest fork height
    flux_conf(data_dir / "flux.conf", daemon)
    result = run_fluxos("verify", str(spec), "--data-dir", str(data_dir), env=env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["data"]["message"] == (
        "Flux apps specifications of version 7 not yet supported"
    )


def test_height_from_fluxd_config_path(tmp_path: Path, daemon: str) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    conf = flux_conf(tmp_path / "elsewhere.conf", daemon)
    env = {**os.environ, "HOME": str(tmp_path), "FLUXD_CONFIG_PATH": str(conf)}
    from_daemon = run_fluxos("price", str(spec), env=env)
    assert from_daemon.returncode == 0, from_daemon.stderr
    at_height = run_fluxos("price", str(spec), "--height", "1000000", env=env)
    latest = run_fluxos("price", str(spec), "--height", "2200000", env=env)
    assert json.loads(from_daemon.stdout) == json.loads(at_height.stdout)
    assert json.loads(from_daemon.stdout) != json.loads(latest.stdout)


def test_unreachable_daemon_falls_back_to_the_latest_fork(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    conf = flux_conf(tmp_path / "flux.conf", f"http://u:p@127.0.0.1:{free_port()}/")
    env = {**os.environ, "HOME": str(tmp_path), "FLUXD_CONFIG_PATH": str(conf)}
    result = run_fluxos("verify", str(spec), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "daemon height unavailable" in result.stderr
    assert "using the latest fork height" in result.stderr
