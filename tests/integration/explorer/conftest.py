"""Devnets full of transactions, nodes pointed at them, and clean rebuilds to compare with."""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxos.chain.fluxconf import FluxConf
from fluxos.explorer.service import Explorer
from fluxos.jsonrpc import JsonRpcClient
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from tests.support.devnetprocess import DevnetProcess, SyncRpc
from tests.support.explorerdb import snapshot
from tests.support.processes import NodeProcess

_fresh = itertools.count()


def populate(devnet: DevnetProcess, rounds: int, sends: int, seed: int) -> list[str]:
    """Payments between 80 wallet addresses of two endpoints, one block per round."""
    first, second = devnet.rpc(0), devnet.rpc(1)
    rng = random.Random(seed)
    ours = first.batch([("getnewaddress", [])] * 40)
    theirs = second.batch([("getnewaddress", [])] * 40)
    everyone = ours + theirs
    for round_number in range(rounds):
        first.batch(
            [("sendtoaddress", [rng.choice(everyone), _amount(rng, 1.0)]) for _ in range(sends)]
        )
        first.call("sendmany", "", {a: _amount(rng, 0.5) for a in rng.sample(everyone, 8)})
        if round_number:
            second.batch(
                [
                    ("sendtoaddress", [rng.choice(ours), _amount(rng, 0.2)])
                    for _ in range(sends // 4)
                ]
            )
        first.call("generate", 1)
    return everyone


def _amount(rng: random.Random, top: float) -> float:
    return round(rng.uniform(0.001, top), 8)


def chain_contents(rpc: SyncRpc) -> tuple[set[str], dict[str, int]]:
    """Every address any output of the active chain pays, and every txid's height."""
    tip = rpc.call("getblockcount")
    first = _first_height(rpc, tip)
    found: set[str] = set()
    heights: dict[str, int] = {}
    for low in range(first, tip + 1, 200):
        blocks = rpc.batch([("getblock", [str(h), 2]) for h in range(low, min(low + 200, tip + 1))])
        for block in blocks:
            for tx in block["tx"]:
                heights[tx["txid"]] = block["height"]
                for out in tx.get("vout", []):
                    found.update(out["scriptPubKey"].get("addresses", []))
    return found, heights


def _first_height(rpc: SyncRpc, tip: int) -> int:
    low, high = 0, tip
    while high - low > 1:
        middle = (low + high) // 2
        try:
            rpc.call("getblockhash", middle)
            high = middle
        except Exception:
            low = middle
    return high


def fresh(node: NodeProcess, path: str) -> Any:
    """GET past the response cache (public explorer answers are cached for 30 s)."""
    separator = "&" if "?" in path else "?"
    reply = node.get(f"{path}{separator}fresh={next(_fresh)}").json()
    return reply


def scanned(node: NodeProcess) -> int | None:
    reply = fresh(node, "/explorer/scannedheight")
    return reply["data"]["generalScannedHeight"] if reply["status"] == "success" else None


def synced_to(node: NodeProcess, tip: int) -> bool:
    return scanned(node) == tip and fresh(node, "/explorer/issynced")["data"] is True


def node_env(devnet: DevnetProcess) -> dict[str, str]:
    return {
        "FLUXOS_FLUXD_CONF": str(devnet.conf_file(0)),
        "FLUXOS_EXPLORER": '{"poll_seconds": 0.2}',
    }


def node_scanned_on_disk(data_dir: Path) -> int | None:
    with sqlite3.connect(f"file:{data_dir / 'fluxos.db'}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT scanned_height FROM explorer_progress").fetchone()
    return row[0] if row else None


def rpc_client(conf_file: Path) -> JsonRpcClient:
    conf = FluxConf.read(conf_file)
    return JsonRpcClient(
        f"http://127.0.0.1:{conf.get('rpcport')}/",
        conf.get("rpcuser") or "",
        conf.get("rpcpassword") or "",
        timeout=120,
    )


async def rebuild(conf_file: Path, directory: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Index the devnet from scratch into a new database and return its tables."""
    database = Database(f"sqlite+aiosqlite:///{directory / 'rebuild.db'}", ALL_AREAS)
    await database.open()
    try:
        async with rpc_client(conf_file) as rpc:
            explorer = Explorer(database, rpc)
            await explorer.scanner.catch_up()
        return await snapshot(database)
    finally:
        await database.close()


def clean_rebuild(devnet: DevnetProcess, directory: Path) -> dict[str, list[tuple[Any, ...]]]:
    return asyncio.run(rebuild(devnet.conf_file(0), directory))


@pytest.fixture(scope="module")
def busy_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetProcess]:
    """A devnet with a few thousand wallet transactions; tests must not change its chain."""
    devnet = DevnetProcess(tmp_path_factory.mktemp("busy") / "devnet", nodes=2).start()
    try:
        populate(devnet, rounds=40, sends=80, seed=7)
        yield devnet
    finally:
        devnet.stop()
