"""A real node (`fluxos start`) indexing a real devnet, checked against the devnet's own
address index, across a SIGKILL and a reorg, and against a clean rebuild."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.integration.explorer.conftest import (
    chain_contents,
    clean_rebuild,
    fresh,
    node_env,
    node_scanned_on_disk,
    populate,
    scanned,
    synced_to,
)
from tests.support.devnetprocess import DevnetProcess
from tests.support.explorerdb import snapshot_file
from tests.support.processes import NodeProcess, running_node, wait_until


def test_every_address_matches_the_daemons_index(
    busy_devnet: DevnetProcess, tmp_path: Path
) -> None:
    rpc = busy_devnet.rpc(0)
    tip = rpc.call("getblockcount")
    addresses, heights = chain_contents(rpc)
    addresses = sorted(addresses)
    with running_node(tmp_path / "node", env=node_env(busy_devnet)) as node:
        wait_until(lambda: synced_to(node, tip), timeout=180)
        with httpx.Client(base_url=node.url, timeout=60) as http, ThreadPoolExecutor(8) as pool:

            def ours(address: str) -> tuple[int, list[dict[str, Any]], list[str]]:
                balance = http.get(f"/explorer/balance/{address}").json()["data"]
                utxos = http.get(f"/explorer/utxo?address={address}").json()["data"]
                txs = http.get(f"/explorer/transactions/{address}").json()["data"]
                return balance, utxos, [item["txid"] for item in txs]

            answers = dict(zip(addresses, pool.map(ours, addresses), strict=True))
    checked_utxos = checked_txs = 0
    for low in range(0, len(addresses), 200):
        chunk = addresses[low : low + 200]
        queries = [[{"addresses": [address]}] for address in chunk]
        balances = rpc.batch([("getaddressbalance", q) for q in queries])
        utxo_sets = rpc.batch([("getaddressutxos", q) for q in queries])
        txid_lists = rpc.batch([("getaddresstxids", q) for q in queries])
        for address, balance, utxos, txids in zip(
            chunk, balances, utxo_sets, txid_lists, strict=True
        ):
            our_balance, our_utxos, our_txids = answers[address]
            assert our_balance == balance["balance"], address
            expected = [
                {
                    "address": u["address"],
                    "txid": u["txid"],
                    "vout": u["outputIndex"],
                    "height": u["height"],
                    "satoshis": u["satoshis"],
                    "scriptPubKey": u["script"],
                    "confirmations": tip - u["height"],
                }
                for u in utxos
            ]
            assert _by_outpoint(our_utxos) == _by_outpoint(expected), address
            # the same transactions, newest block first (fluxd lists one block's transactions
            # by position, the devnet by txid, so within a block the order is not compared)
            assert sorted(our_txids) == sorted(txids), address
            our_heights = [heights[txid] for txid in our_txids]
            assert our_heights == sorted(our_heights, reverse=True), address
            checked_utxos += len(our_utxos)
            checked_txs += len(our_txids)
    assert len(addresses) >= 1_000 and checked_utxos >= 1_000 and checked_txs >= 4_000


def _by_outpoint(utxos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(utxos, key=lambda u: (u["txid"], u["vout"]))


def test_sigkill_mid_scan_then_restart_ends_as_a_clean_rebuild(
    busy_devnet: DevnetProcess, tmp_path: Path
) -> None:
    tip = busy_devnet.rpc(0).call("getblockcount")
    data_dir = tmp_path / "node"
    node = NodeProcess(data_dir, env=node_env(busy_devnet)).start()
    try:
        wait_until(lambda: scanned(node) is not None, timeout=60, interval=0.01)
        node.stop(signal.SIGKILL)
        at_kill = node_scanned_on_disk(data_dir)
        assert at_kill is not None and at_kill < tip, "the scan had already finished"
        node.start()
        wait_until(lambda: synced_to(node, tip), timeout=180)
    finally:
        node.stop()
    assert snapshot_file(data_dir / "fluxos.db") == clean_rebuild(busy_devnet, tmp_path / "clean")


def test_reorg_is_followed_and_spent_outputs_come_back(tmp_path: Path) -> None:
    devnet = DevnetProcess(tmp_path / "devnet", nodes=2).start()
    try:
        populate(devnet, rounds=12, sends=30, seed=11)
        first, second = devnet.rpc(0), devnet.rpc(1)
        tip = first.call("getblockcount")
        data_dir = tmp_path / "node"
        with running_node(data_dir, env=node_env(devnet)) as node:
            wait_until(lambda: synced_to(node, tip), timeout=120)
            fork = tip - 4
            first.call("invalidateblock", first.call("getblockhash", fork + 1))
            assert first.call("getblockcount") == fork
            # the node follows the shorter chain: the last four blocks' spends are undone
            wait_until(lambda: synced_to(node, fork), timeout=60)
            at_fork = snapshot_file(data_dir / "fluxos.db")
            assert at_fork == clean_rebuild(devnet, tmp_path / "clean-fork")
            # a longer branch mined by the other endpoint re-mines the pool and more
            second.batch([("sendtoaddress", [first.call("getnewaddress"), 0.5])] * 5)
            new_tip = len(second.call("generate", 6)) + fork
            wait_until(lambda: synced_to(node, new_tip), timeout=60)
            reply = fresh(node, "/explorer/scannedheight")
            assert reply["data"] == {"generalScannedHeight": new_tip}
        assert snapshot_file(data_dir / "fluxos.db") == clean_rebuild(
            devnet, tmp_path / "clean-new"
        )
    finally:
        devnet.stop()


def test_route_errors_and_shapes(busy_devnet: DevnetProcess, tmp_path: Path) -> None:
    with running_node(tmp_path / "node", env=node_env(busy_devnet)) as node:
        wait_until(lambda: scanned(node) is not None, timeout=60)
        missing = node.get("/explorer/utxo").json()
        assert missing == {
            "status": "error",
            "data": {"name": "Error", "message": "No address provided"},
        }
        bad = node.get("/explorer/balance/t1notanaddress").json()
        assert bad["status"] == "error"
        assert bad["data"]["message"].startswith("address must be a Flux transparent address")
        deprecated = node.get("/explorer/fusion/coinbase/t1abc").json()
        assert deprecated["data"]["message"] == "Data unavailable. Deprecated"
        filter_rule = node.get("/explorer/fluxtxs/abc").json()
        assert filter_rule["data"]["message"] == (
            "It is possible to only filter via IP address, Flux address and Collateral hash."
        )
        for path in (
            "/explorer/stop",
            "/explorer/restart",
            "/explorer/reindex",
            "/explorer/rescan/5",
        ):
            denied = node.get(path).json()
            assert denied["data"] == {
                "code": 401,
                "name": "Unauthorized",
                "message": "Unauthorized. Access denied.",
            }, path
        assert isinstance(fresh(node, "/explorer/issynced")["data"], bool)
