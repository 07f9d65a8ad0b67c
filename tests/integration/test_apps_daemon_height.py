"""A node judges app specs at its fluxd's height: a real devnet (`python -m fluxos.devnet`)
started below the v7 activation height, then stopped to see the latest-fork fallback."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxos.apps.params import MAINNET
from fluxos.apps.quotes import PriceQuoter
from fluxos.chain.fluxconf import FluxConf
from fluxos.jsonrpc import JsonRpcClient
from tests.support.processes import NodeProcess, free_port, running_node, wait_until
from tests.unit.apps.spec_samples import seed_spec

START_HEIGHT = 1_000_000  # before v6 (1,300,000) and v7 (1,420,000)


class DevnetProcess:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.conf = data_dir / "flux.conf"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DevnetProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "fluxos.devnet", "--data-dir", str(self.data_dir)]
        command += ["--rpc-port", str(self.port), "--start-height", str(START_HEIGHT)]
        with (self.data_dir / "devnet.log").open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: self.height() >= START_HEIGHT, timeout=60)
        return self

    def height(self) -> int:
        conf = FluxConf.read(self.conf)

        async def ask() -> int:
            url = f"http://127.0.0.1:{self.port}/"
            user, password = conf.get("rpcuser") or "", conf.get("rpcpassword") or ""
            async with JsonRpcClient(url, user, password, timeout=5) as rpc:
                return int(await rpc.call("getblockcount"))

        return asyncio.run(ask())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[DevnetProcess]:
    process = DevnetProcess(tmp_path / "devnet").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def node(tmp_path: Path, devnet: DevnetProcess) -> Iterator[NodeProcess]:
    env = {"FLUXOS_FLUXD_CONF": str(devnet.conf), "FLUXOS_FLUX_HELPERS_URL": ""}
    with running_node(tmp_path / "node", env=env) as process:
        yield process


def quote(height: int) -> dict[str, object]:
    return asyncio.run(PriceQuoter(MAINNET).quote(seed_spec(), height))


def test_specs_are_judged_at_the_daemon_height(node: NodeProcess, devnet: DevnetProcess) -> None:
    verify = node.post("/apps/verifyappregistrationspecifications", json=seed_spec()).json()
    assert verify == {
        "status": "error",
        "data": {
            "name": "Error",
            "message": "Flux apps specifications of version 7 not yet supported",
        },
    }
    deployment = node.get("/apps/deploymentinformation").json()["data"]
    assert deployment["address"] == MAINNET.address  # before the v6 multisig address
    assert deployment["maxBlocksAllowance"] == MAINNET.max_blocks_allowance  # pre-PON
    price = node.post("/apps/calculatefiatandfluxprice", content=json.dumps(seed_spec())).json()
    assert price == {"status": "success", "data": quote(devnet.height())}


def test_without_fluxd_the_latest_fork_height_applies(
    node: NodeProcess, devnet: DevnetProcess
) -> None:
    devnet.stop()
    price = node.post("/apps/calculatefiatandfluxprice", content=json.dumps(seed_spec())).json()
    assert price == {"status": "success", "data": quote(MAINNET.latest_fork_height())}
    assert "Daemon height unavailable" in node.output()
    assert "app rules fall back until fluxd answers" in node.output()
