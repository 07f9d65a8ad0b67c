"""A node judges app specs at its synced fluxd's height: a real devnet started between the
v6 and v7 activation heights; and at the latest fork height while fluxd cannot answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxos.apps.params import MAINNET
from fluxos.apps.quotes import PriceQuoter
from tests.support.daemons import DevnetProcess
from tests.support.processes import NodeProcess, free_port, wait_until
from tests.unit.apps.spec_samples import seed_spec

# After v6 (1,300,000) and the node's sync floor (1,136,836 headers), before v7 (1,420,000).
START_HEIGHT = 1_400_000
V7_NOT_YET = {
    "status": "error",
    "data": {"name": "Error", "message": "Flux apps specifications of version 7 not yet supported"},
}


class EarlyDevnet(DevnetProcess):
    def command(self) -> list[str]:
        return [*super().command(), "--start-height", str(START_HEIGHT)]


def node_with_conf(data_dir: Path, flux_conf: Path) -> NodeProcess:
    data_dir.mkdir(parents=True)
    (data_dir / "fluxos.toml").write_text(f'fluxd_conf = "{flux_conf}"\n')
    return NodeProcess(data_dir, env={"HOME": str(data_dir), "FLUXOS_FLUX_HELPERS_URL": ""})


@pytest.fixture
def devnet(tmp_path: Path) -> Iterator[DevnetProcess]:
    process = EarlyDevnet(tmp_path / "devnet")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def quote(height: int) -> dict[str, Any]:
    return asyncio.run(PriceQuoter(MAINNET).quote(seed_spec(), height))


def test_specs_are_judged_at_the_synced_daemon_height(
    tmp_path: Path, devnet: DevnetProcess
) -> None:
    node = node_with_conf(tmp_path / "node", devnet.conf_path).start()
    try:

        def judged_at_daemon_height() -> bool:
            path = "/apps/verifyappregistrationspecifications"
            return bool(node.post(path, json=seed_spec()).json() == V7_NOT_YET)

        # the node's liveness poller asks fluxd every few seconds after it starts
        wait_until(judged_at_daemon_height, timeout=60, interval=0.5)
        deployment = node.get("/apps/deploymentinformation").json()["data"]
        assert deployment["address"] == MAINNET.address_multisig  # v6's, before 1,670,000
        assert deployment["maxBlocksAllowance"] == MAINNET.max_blocks_allowance  # pre-PON
        price = node.post("/apps/calculatefiatandfluxprice", content=json.dumps(seed_spec()))
        height = int(devnet.rpc("getblockcount"))
        assert price.json() == {"status": "success", "data": quote(height)}
        assert quote(height) != quote(MAINNET.latest_fork_height())
        assert "fluxd is synced: app rules use its height" in node.output()
    finally:
        node.stop()


def test_while_fluxd_cannot_answer_the_latest_fork_height_applies(tmp_path: Path) -> None:
    conf = tmp_path / "flux.conf"
    conf.write_text(f"rpcuser=u\nrpcpassword=p\nrpcport={free_port()}\n")
    node = node_with_conf(tmp_path / "node", conf).start()
    try:
        price = node.post("/apps/calculatefiatandfluxprice", content=json.dumps(seed_spec()))
        assert price.json() == {"status": "success", "data": quote(MAINNET.latest_fork_height())}
        assert "app rules fall back" in node.output()
        assert f"latest fork height {MAINNET.latest_fork_height()}" in node.output()
    finally:
        node.stop()
