"""Chain behaviour over RPC: reorgs through invalidateblock, restarts, fluxd's error codes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fluxos.devnet.server import Devnet, EndpointInfo
from fluxos.errors import ConfigError
from fluxos.jsonrpc import JsonRpcClient, RpcError

Connect = Callable[[EndpointInfo], JsonRpcClient]


async def test_reorg_through_invalidateblock_and_a_longer_branch(
    rpc: JsonRpcClient, rpc2: JsonRpcClient
) -> None:
    await rpc.call("generate", 101)
    receiver = await rpc2.call("getnewaddress")
    txid = await rpc.call("sendtoaddress", receiver, 1.25)
    old_branch = await rpc.call("generate", 3)
    fork_height = (await rpc.call("getblock", old_branch[0]))["height"] - 1
    assert await rpc2.call("getbalance") == pytest.approx(1.25)

    await rpc.call("invalidateblock", old_branch[0])
    assert await rpc.call("getblockcount") == fork_height
    assert await rpc.call("getrawmempool") == [txid]  # back in the pool
    assert await rpc2.call("getbalance") == 0
    assert await rpc2.call("getaddressbalance", {"addresses": [receiver]}) == {
        "balance": 0,
        "received": 0,
    }
    with pytest.raises(RpcError, match="nsufficient funds"):  # its coin left with the block
        await rpc2.call("sendfrom", receiver, receiver, 0.5)

    new_branch = await rpc2.call("generate", 4)  # mined by endpoint 2, includes the tx again
    assert await rpc.call("getbestblockhash") == new_branch[-1]
    assert await rpc.call("getblockcount") == fork_height + 4
    assert (await rpc.call("getrawtransaction", txid, 1))["blockhash"] == new_branch[0]

    await rpc.call("reconsiderblock", old_branch[0])  # 3 blocks do not beat 4
    assert await rpc.call("getbestblockhash") == new_branch[-1]
    tips = {t["hash"]: t for t in await rpc.call("getchaintips")}
    assert tips[new_branch[-1]]["status"] == "active"
    assert tips[old_branch[-1]]["status"] == "valid-fork" and tips[old_branch[-1]]["branchlen"] == 3
    stale = await rpc.call("getblock", old_branch[-1])
    assert stale["confirmations"] == -1
    assert await rpc2.call("getbalance") == pytest.approx(1.25)
    # and came back with the longer branch: spending from that one address finds it
    await rpc2.call("sendfrom", receiver, await rpc.call("getnewaddress"), 0.5)
    await rpc2.call("generate", 1)
    assert await rpc2.call("getbalance") == pytest.approx(0.75, abs=0.001)


async def test_a_restart_continues_the_same_chain(tmp_path: Path, connect: Connect) -> None:
    data_dir = tmp_path / "chain"
    async with (
        Devnet.open(data_dir, rpc_port=0, fluxnodes=False) as net,
        connect(net.endpoints[0]) as rpc,
    ):
        await rpc.call("generate", 105)
        address = await rpc.call("getnewaddress")
        txid = await rpc.call("sendtoaddress", address, 3)
        pending = await rpc.call("sendtoaddress", address, 1)
        await rpc.call("invalidateblock", (await rpc.call("generate", 2))[0])
        await rpc.call("generate", 1)
        pending_txid = await rpc.call("sendtoaddress", address, 0.5)
        before = {
            "height": await rpc.call("getblockcount"),
            "best": await rpc.call("getbestblockhash"),
            "balance": await rpc.call("getbalance"),
            "tips": await rpc.call("getchaintips"),
            "tx": await rpc.call("getrawtransaction", txid, 1),
        }
    async with (
        Devnet.open(data_dir, rpc_port=0, fluxnodes=False) as net,
        connect(net.endpoints[0]) as rpc,
    ):
        assert await rpc.call("getblockcount") == before["height"]
        assert await rpc.call("getbestblockhash") == before["best"]
        assert await rpc.call("getchaintips") == before["tips"]
        assert await rpc.call("getrawtransaction", txid, 1) == before["tx"]
        assert await rpc.call("getrawmempool") == [pending_txid]  # the pool survives too
        assert await rpc.call("getbalance") == before["balance"]
        assert await rpc.call("validateaddress", address) | {"ismine": True} == await rpc.call(
            "validateaddress", address
        )
        await rpc.call("generate", 1)
        assert pending in (await rpc.call("getaddresstxids", {"addresses": [address]}))


BAD_PARAMS = [
    ("getblockhash", [10**9], -8, "Block height out of range"),
    ("getblockhash", [5], -8, "Block height out of range"),  # below --start-height
    ("getblockhash", ["7"], -1, "JSON value is not an integer as expected"),
    ("getblock", ["12x"], -8, "Invalid block height parameter"),
    ("getblock", ["0" * 64], -5, "Block not found"),
    ("getblock", ["00" * 32, 3], -8, "Verbosity must be in range from 0 to 2"),
    ("getrawtransaction", ["zz"], -8, "parameter 1 must be hexadecimal string (not 'zz')"),
    ("getrawtransaction", ["ab"], -8, "parameter 1 must be of length 64 (not 2)"),
    ("getrawtransaction", ["00" * 32], -5, "No information available about transaction"),
    ("decoderawtransaction", [42], -3, "Expected type string, got number"),
    ("decoderawtransaction", ["00"], -22, "TX decode failed"),
    ("sendrawtransaction", ["0400"], -22, "TX decode failed"),
    ("decodescript", ["xyz"], -8, "argument must be hexadecimal string (not 'xyz')"),
    ("sendtoaddress", ["t1notanaddress", 1], -5, "Invalid Flux address"),
    ("sendtoaddress", ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa", -1], -3, "Amount out of range"),
    ("sendtoaddress", ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa", "x"], -3, "Invalid amount"),
    ("sendtoaddress", ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa", 0.000000001], -3, "Invalid amount"),
    ("sendtoaddress", ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa", 10**6], -6, "Insufficient funds"),
    ("createrawtransaction", [{}, {}], -3, "Expected type array, got object"),
    (
        "createrawtransaction",
        [[{"txid": "00" * 32}], {}],
        -8,
        "Invalid parameter, missing vout key",
    ),
    ("createrawtransaction", [[], {"t1bad": 1}], -5, "Invalid Flux address: t1bad"),
    ("getaddressbalance", [{"addresses": ["nope"]}], -5, "Invalid address"),
    (
        "getaddressdeltas",
        [{"addresses": [], "start": 5, "end": 1}],
        -5,
        "End value is expected to be greater than start",
    ),
    (
        "dumpprivkey",
        ["t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa"],
        -4,
        "Private key for address t1JKRwXGfKTGfPV1z48rvoLyabk31z3xwHa is not known",
    ),
    ("importprivkey", ["5notakey"], -5, "Invalid private key encoding"),
    ("verifymessage", ["t1bad", "c2ln", "m"], -3, "Invalid address"),
    ("getspentinfo", [{"txid": 1, "index": 0}], -5, "Invalid txid, must be a string"),
    ("gettransaction", ["11" * 32], -5, "Invalid or non-wallet transaction id"),
    ("getfluxnodestatus", [], -1, "This is not a Flux Node"),
    ("z_getbalance", ["za1"], -1, None),
    ("setban", ["not-an-ip", "add"], -23, "Error: Invalid IP/Subnet"),
    ("addnode", ["1.2.3.4", "remove"], -24, "Error: Node has not been added."),
    ("getblockcount", [1], -1, None),  # wrong arity: fluxd answers with the usage text
]


@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    BAD_PARAMS,
    ids=[f"{m}-{i}" for i, (m, *_r) in enumerate(BAD_PARAMS)],
)
async def test_bad_params_get_fluxds_error_codes(
    rpc: JsonRpcClient, method: str, params: list, code: int, message: str | None
) -> None:
    with pytest.raises(RpcError) as err:
        await rpc.call(method, *params)
    assert err.value.code == code
    if message is not None:
        assert err.value.message == message
    else:
        assert method in err.value.message


async def test_malformed_requests_never_stop_the_server(devnet: Devnet, rpc: JsonRpcClient) -> None:
    endpoint = devnet.endpoints[0]
    async with httpx.AsyncClient(auth=(endpoint.user, endpoint.password)) as http:
        bad = await http.post(endpoint.url, content=b"{not json")
        assert bad.status_code == 500 and bad.json()["error"]["code"] == -32700
        odd = await http.post(endpoint.url, json={"method": 7, "id": 1})
        assert odd.json()["error"]["code"] == -32600
        missing = await http.post(
            endpoint.url, json={"method": "nosuchcall", "params": [], "id": 2}
        )
        assert missing.status_code == 404 and missing.json()["error"]["code"] == -32601
        wrong_auth = await http.post(
            endpoint.url, json={"method": "getblockcount"}, auth=("x", "y")
        )
        assert wrong_auth.status_code == 401
        batch = await http.post(
            endpoint.url,
            json=[
                {"method": "getblockcount", "id": 0},
                {"method": "getblock", "params": ["x"], "id": 1},
            ],
        )
        replies = batch.json()
        assert replies[0]["error"] is None and replies[1]["error"]["code"] == -8
    assert await rpc.call("getblockcount") == 2_199_999  # still serving; empty chain so far


async def test_block_timer_mines_on_its_own(tmp_path: Path, connect: Connect) -> None:
    async with (
        Devnet.open(tmp_path / "timed", rpc_port=0, fluxnodes=False, block_time=0.05) as net,
        connect(net.endpoints[0]) as rpc,
    ):
        assert await rpc.call("getgenerate") is True
        for _ in range(400):
            if await rpc.call("getblockcount") >= 2_200_002:
                break
            await asyncio.sleep(0.05)
        assert await rpc.call("getblockcount") >= 2_200_002


async def test_help_lists_fluxd_sections(rpc: JsonRpcClient) -> None:
    text = await rpc.call("help")
    for section in ("== Blockchain ==", "== Fluxnode ==", "== Wallet ==", "== Addressindex =="):
        assert section in text
    assert 'getblock "hash|height" ( verbosity )' in text
    assert (await rpc.call("help", "nosuch")) == "help: unknown command: nosuch"


async def test_a_busy_port_is_a_clear_error_and_leaves_the_data_dir_usable(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*not available"):
            async with Devnet.open(tmp_path / "d", rpc_port=port, fluxnodes=False):
                pass
    async with Devnet.open(tmp_path / "d", rpc_port=0, fluxnodes=False) as net:
        assert net.engine.chain.height == 2_199_999
