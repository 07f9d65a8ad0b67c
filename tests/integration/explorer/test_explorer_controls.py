"""The operator's controls over real HTTP: a node served by uvicorn in this process (so the
test can hold an admin session without the identity service) indexing a devnet process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from fluxos.api.app import create_app
from fluxos.chain.fluxconf import FluxConf
from fluxos.config import load_settings
from fluxos.explorer.events import ChainRewound
from fluxos.node import Node
from tests.integration.explorer.conftest import populate, rebuild
from tests.support.asyncwait import eventually
from tests.support.authorizers import TokenAuthorizer
from tests.support.devnetprocess import DevnetProcess
from tests.support.explorerdb import snapshot
from tests.support.processes import free_port

TOKEN = "operator-session"


class Served:
    def __init__(self, node: Node, http: httpx.AsyncClient) -> None:
        self.node = node
        self.http = http
        self._n = 0

    async def get(self, path: str) -> Any:
        self._n += 1
        separator = "&" if "?" in path else "?"
        return (await self.http.get(f"{path}{separator}fresh={self._n}")).json()

    async def scanned(self) -> int | None:
        reply = await self.get("/explorer/scannedheight")
        return reply["data"]["generalScannedHeight"] if reply["status"] == "success" else None

    async def synced_to(self, tip: int) -> bool:
        return await self.scanned() == tip and (await self.get("/explorer/issynced"))["data"]


@pytest.fixture
async def devnet(tmp_path: Path) -> AsyncIterator[DevnetProcess]:
    process = DevnetProcess(tmp_path / "devnet", nodes=2).start()
    try:
        populate(process, rounds=6, sends=20, seed=5)
        yield process
    finally:
        process.stop()


@pytest.fixture
async def served(devnet: DevnetProcess, tmp_path: Path) -> AsyncIterator[Served]:
    settings = load_settings(
        tmp_path / "node",
        {"fluxd_conf": str(devnet.conf_file(0)), "explorer": {"poll_seconds": 0.2}},
        environ={},
    )
    node = Node(settings, authorizer=TokenAuthorizer(TOKEN))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, within=30)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"zelidauth": TOKEN}, timeout=60
        ) as http:
            yield Served(node, http)
    finally:
        server.should_exit = True
        await task


async def test_stop_restart_rescan_and_reindex(
    devnet: DevnetProcess, served: Served, tmp_path: Path
) -> None:
    rpc = devnet.rpc(0)
    tip = rpc.call("getblockcount")
    await eventually(lambda: served.synced_to(tip), within=120)
    explorer = served.node.explorer
    assert explorer is not None

    stopped = await served.get("/explorer/stop")
    assert stopped == {"status": "success", "data": {"message": "Block processing is stopped"}}
    assert not explorer.scanner.running
    rpc.call("generate", 2)
    assert await served.scanned() == tip  # paused: nothing moves until restarted
    restarted = await served.get("/explorer/restart")
    assert restarted["data"] == {"message": "Block processing initiated"}
    tip += 2
    await eventually(lambda: served.synced_to(tip), within=60)

    for path, message in [
        ("/explorer/rescan", "No blockheight provided"),
        ("/explorer/rescan/0", "No blockheight provided"),
        (f"/explorer/rescan/{tip}", "Block height shall be lower than currently scanned"),
        ("/explorer/rescan/-5", "BlockHeight lower than 0"),
    ]:
        reply = await served.get(path)
        assert reply["status"] == "error" and reply["data"]["message"] == message, path
    not_a_number = await served.get("/explorer/rescan/ten")
    assert "blockheight must be an integer" in not_a_number["data"]["message"]

    async with explorer.events.subscribe() as events:
        target = tip - 30
        rescan = await served.get(f"/explorer/rescan/{target}/true")
        assert rescan["data"] == {"message": f"Explorer rescan from blockheight {target} initiated"}
        assert await events.get() == ChainRewound(target, rescan_apps=True)
    await eventually(lambda: served.synced_to(tip), within=60)
    expected = await rebuild(devnet.conf_file(0), tmp_path / "clean")
    assert await snapshot(served.node.database) == expected

    reindex = await served.get("/explorer/reindex/false")
    assert reindex["data"] == {"message": "Explorer database reindex initiated"}
    await eventually(lambda: served.synced_to(tip), within=120)
    assert await snapshot(served.node.database) == expected


async def test_fluxnode_transactions_by_collateral_address_and_ip(
    devnet: DevnetProcess, served: Served
) -> None:
    tip = devnet.rpc(0).call("getblockcount")
    await eventually(lambda: served.synced_to(tip), within=120)
    conf = FluxConf.read(devnet.conf_file(0))
    collateral = conf.get("zelnodeoutpoint")
    by_hash = (await served.get(f"/explorer/fluxtxs/{collateral}"))["data"]
    assert all(t["collateralHash"] == collateral for t in by_hash)
    # the filter matches the collateral transaction; this endpoint's node is one output of it
    ours = [t for t in by_hash if t["collateralIndex"] == int(conf.get("zelnodeindex") or -1)]
    assert {t["type"] for t in ours} == {"Starting a fluxnode", "Confirming a fluxnode"}
    assert {t["lockedAmount"] for t in ours} == {1000 * 100_000_000}
    owner = ours[0]["zelAddress"]
    assert owner and all(t["zelAddress"] == t["fluxAddress"] == owner for t in ours)
    by_owner = (await served.get(f"/explorer/fluxtxs?filter={owner}"))["data"]
    assert {t["txid"] for t in by_owner} == {t["txid"] for t in ours}
    ip = next(t["ip"] for t in ours if t["ip"])
    by_ip = (await served.get(f"/explorer/fluxtxs/{ip}"))["data"]
    assert by_ip and {t["txid"] for t in by_ip} <= {t["txid"] for t in ours}
