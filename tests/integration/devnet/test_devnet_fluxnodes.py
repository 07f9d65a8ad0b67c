"""Fluxnodes over real RPC: `--nodes 3` as a real subprocess, payments, the start list and
DoS list, and a spent collateral removing its node."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from fluxos.chain.fluxconf import FluxConf
from fluxos.crypto.keys import PrivateKey
from fluxos.devnet.server import Devnet, EndpointInfo
from fluxos.jsonrpc import JsonRpcClient, RpcError

Connect = Callable[[EndpointInfo], JsonRpcClient]
LIST_KEYS = {
    "collateral", "txhash", "outidx", "ip", "network", "added_height", "confirmed_height",
    "last_confirmed_height", "last_paid_height", "tier", "payment_address", "pubkey",
    "activesince", "lastpaid", "amount", "rank",
}  # fmt: skip


async def wait_until(predicate: Callable[[], Awaitable[bool]], limit: float = 180.0) -> None:
    """Poll `predicate` until it holds; fail (not hang) after `limit` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


def _conf(path: Path) -> FluxConf | None:
    try:
        return FluxConf.read(path)
    except OSError:
        return None


async def test_three_node_network_from_the_command_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "net"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fluxos.devnet", "--data-dir", str(data_dir), "--rpc-port", "0",
        "--nodes", "3", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    clients: list[JsonRpcClient] = []
    try:
        confs = [data_dir / f"node-{i}" / "flux.conf" for i in (1, 2, 3)]

        async def serving() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"devnet exited early with {proc.returncode}")
            loaded = [_conf(p) for p in confs]
            if any(c is None or c.get("rpcport") in (None, "0") for c in loaded):
                return False
            try:
                c = loaded[-1]
                assert c is not None
                async with JsonRpcClient(
                    f"http://127.0.0.1:{c.get('rpcport')}/",
                    c.get("rpcuser") or "",
                    c.get("rpcpassword") or "",
                ) as probe:
                    return len(await probe.call("viewdeterministicfluxnodelist")) == 3
            except (RpcError, OSError, Exception):
                return False

        await wait_until(serving)
        for path in confs:
            conf = FluxConf.read(path)
            clients.append(
                JsonRpcClient(
                    f"http://127.0.0.1:{conf.get('rpcport')}/",
                    conf.get("rpcuser") or "",
                    conf.get("rpcpassword") or "",
                )
            )
        listing = await clients[0].call("viewdeterministicfluxnodelist")
        assert [n["ip"] for n in listing] == [
            "127.0.0.2:16127",
            "127.0.0.3:16127",
            "127.0.0.4:16127",
        ]
        assert [n["rank"] for n in listing] == [0, 1, 2]
        for node in listing:
            assert set(node) == LIST_KEYS
            assert node["tier"] == "CUMULUS" and node["amount"] == "1000.00000000"
            assert (
                node["network"] == "ipv4"
                and node["collateral"] == f"COutPoint({node['txhash']}, {node['outidx']})"
            )
        assert await clients[1].call("listfluxnodes", "127.0.0.3") == [
            listing[1]
        ]  # a filter keeps ranks
        assert await clients[1].call("getfluxnodecount") | {"total": 3} == await clients[1].call(
            "getfluxnodecount"
        )
        for i, (client, path) in enumerate(zip(clients, confs, strict=True)):
            conf = FluxConf.read(path)
            status = await client.call("getfluxnodestatus")
            assert status["status"] == "CONFIRMED" and status["ip"] == f"127.0.0.{i + 2}:16127"
            assert status["txhash"] == conf.get("zelnodeoutpoint") and status["outidx"] == conf.get(
                "zelnodeindex"
            )
            key = PrivateKey.from_wif(conf.get("zelnodeprivkey") or "")
            assert status["pubkey"] == key.public_key.hex()
            assert conf.get("zelnode") == "1" and conf.get("insightexplorer") == "1"
            assert await client.call("getbalance") >= 10  # every endpoint was funded
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=60) == 0
    finally:
        for client in clients:
            await client.aclose()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # a restart keeps the same three nodes: nothing is registered twice
    async with (
        Devnet.open(data_dir, rpc_port=0, nodes=3) as net,
        JsonRpcClient(
            net.endpoints[0].url, net.endpoints[0].user, net.endpoints[0].password
        ) as rpc,
    ):
        again = await rpc.call("viewdeterministicfluxnodelist")
        assert [n["collateral"] for n in again] == [n["collateral"] for n in listing]


async def test_payments_and_a_spent_collateral_removes_the_node(
    tmp_path: Path, connect: Connect
) -> None:
    async with (
        Devnet.open(tmp_path / "one", rpc_port=0, nodes=1) as net,
        connect(net.endpoints[0]) as rpc,
    ):
        (node,) = await rpc.call("viewdeterministicfluxnodelist")
        winner = await rpc.call("fluxnodecurrentwinner")
        assert winner["CUMULUS Winner"]["payment_address"] == node["payment_address"]
        template = await rpc.call("getblocktemplate")
        assert template["cumulus_fluxnode_payout"] == 100_000_000  # 1/14 of 14 FLUX
        block_hash = (await rpc.call("generate", 1))[0]
        coinbase = (await rpc.call("getblock", block_hash, 2))["tx"][0]
        paid = [
            o
            for o in coinbase["vout"]
            if node["payment_address"] in o["scriptPubKey"].get("addresses", [])
        ]
        assert [o["valueSat"] for o in paid] == [100_000_000]
        dev_fund = [
            o
            for o in coinbase["vout"]
            if o["scriptPubKey"].get("addresses") == ["t3hPu1YDeGUCp8m7BQCnnNUmRMJBa5RadyA"]
        ]
        assert [o["valueSat"] for o in dev_fund] == [50_000_000]
        (after,) = await rpc.call("viewdeterministicfluxnodelist")
        assert after["last_paid_height"] == await rpc.call("getblockcount")

        # the wallet keeps the collateral locked; spending it on purpose removes the node
        locked = await rpc.call("listlockunspent")
        assert {"txid": node["txhash"], "vout": int(node["outidx"])} in locked
        await rpc.call("lockunspent", True)
        to = await rpc.call("getnewaddress")
        raw = await rpc.call(
            "createrawtransaction",
            [{"txid": node["txhash"], "vout": int(node["outidx"])}],
            {to: 999.999},
        )
        signed = await rpc.call("signrawtransaction", raw)
        await rpc.call("sendrawtransaction", signed["hex"])
        await rpc.call("generate", 1)
        assert await rpc.call("viewdeterministicfluxnodelist") == []
        assert (await rpc.call("getfluxnodestatus"))["status"] == "expired"
        counts = await rpc.call("getfluxnodecount")
        assert set(counts) == {
            "total", "stable", "basic-enabled", "super-enabled", "bamf-enabled",
            "cumulus-enabled", "nimbus-enabled", "stratus-enabled", "ipv4", "ipv6", "onion",
        }  # fmt: skip
        assert set(counts.values()) == {0}


async def test_unconfirmed_start_moves_to_the_dos_list(devnet: Devnet, rpc: JsonRpcClient) -> None:
    await rpc.call("generate", 180)
    node_key = await rpc.call("createfluxnodekey")
    collateral_address = await rpc.call("getnewaddress")
    txid = await rpc.call("sendtoaddress", collateral_address, 1000)
    await rpc.call("generate", 1)
    tx = await rpc.call("getrawtransaction", txid, 1)
    index = next(o["n"] for o in tx["vout"] if o["valueSat"] == 1000 * 100_000_000)
    conf = devnet.endpoints[0].data_dir / "fluxnode.conf"
    conf.write_text(f"lonely 127.0.0.9:16127 {node_key} {txid} {index}\n")
    early = await rpc.call("startdeterministicfluxnode", "lonely", "false")
    assert early["detail"][0]["result"] == "failed"
    assert "100-confirmations" in early["detail"][0]["errorMessage"]
    await rpc.call("generate", 99)
    started = await rpc.call("startdeterministicfluxnode", "lonely", "false")
    assert started["overall"] == "Successfully started 1 fluxnodes, failed to start 0, total 1"
    await rpc.call("generate", 1)
    (entry,) = await rpc.call("getstartlist")
    assert entry["collateral"] == f"COutPoint({txid}, {index})" and entry["expires_in"] == 240
    again = await rpc.call("startdeterministicfluxnode", "lonely", "false")
    assert again == {
        "result": "failed",
        "reason": "Fluxnode already started, waiting to be confirmed",
    }
    (conf_entry,) = await rpc.call("listfluxnodeconf")
    assert conf_entry["status"] == "STARTED" and conf_entry["address"] == "127.0.0.9:16127"
    await rpc.call("generate", 240)  # no endpoint runs that node key: nobody confirms it
    assert await rpc.call("getstartlist") == []
    (dos,) = await rpc.call("getdoslist")
    assert dos["eligible_in"] == 480 and dos["added_height"] == entry["added_height"]
    await rpc.call("generate", 480)
    assert await rpc.call("getdoslist") == []
    assert await rpc.call("viewdeterministicfluxnodelist") == []


@pytest.mark.parametrize("call", ["z_sendmany", "z_getnewaddress", "zcrawkeygen"])
async def test_shielded_calls_say_the_devnet_has_no_shielded_pool(
    rpc: JsonRpcClient, call: str
) -> None:
    with pytest.raises(RpcError) as err:
        await rpc.call(call)
    assert err.value.code == -1 and "no shielded pool" in err.value.message
