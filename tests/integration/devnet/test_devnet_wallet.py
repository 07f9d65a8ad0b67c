"""Wallet RPCs of one endpoint against the shared chain: keys in and out, multisig,
sendmany/sendfrom/fundrawtransaction, message signing, history listings, submitblock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fluxos.crypto.signed_message import verify_flux_message
from fluxos.devnet.server import Devnet
from fluxos.jsonrpc import JsonRpcClient, RpcError


async def test_keys_move_between_wallets_and_history_follows(
    rpc: JsonRpcClient, rpc2: JsonRpcClient
) -> None:
    await rpc.call("generate", 101)
    address, watched = await rpc.call("getnewaddress"), await rpc.call("getnewaddress")
    txid = await rpc.call("sendmany", "", {address: 4, watched: 1}, 1, "rent")
    block = (await rpc.call("generate", 1))[0]
    wif = await rpc.call("dumpprivkey", address)
    assert await rpc2.call("getbalance") == 0
    await rpc2.call("importprivkey", wif, "imported")
    assert await rpc2.call("getbalance") == pytest.approx(4)
    assert (await rpc2.call("validateaddress", address))["ismine"] is True
    await rpc2.call("importaddress", watched, "watch")
    assert (await rpc2.call("validateaddress", watched))["iswatchonly"] is True
    assert await rpc2.call("getbalance", "", 1, True) == pytest.approx(5)
    assert await rpc2.call("getbalance", "", 1, False) == pytest.approx(4)
    sent = await rpc.call("gettransaction", txid)
    assert sent["comment"] == "rent" and sent["blockhash"] == block
    since = await rpc.call("listsinceblock", block)
    assert txid not in [t["txid"] for t in since["transactions"]]  # only what came after
    assert await rpc.call("listsinceblock", "", 1) | {} == await rpc.call("listsinceblock")
    received = {r["address"]: r for r in await rpc.call("listreceivedbyaddress", 0)}
    assert received[address]["amount"] == pytest.approx(4) and txid in received[address]["txids"]
    groups = await rpc.call("listaddressgroupings")
    assert any(address in [row[0] for row in group] for group in groups)


async def test_wallet_dump_and_import_round_trip(
    devnet: Devnet, rpc: JsonRpcClient, rpc2: JsonRpcClient
) -> None:
    await rpc.call("generate", 101)
    address = await rpc.call("getnewaddress", "")
    await rpc.call("sendtoaddress", address, 2)
    await rpc.call("generate", 1)
    path = await rpc.call("dumpwallet", "mydump")
    text = await asyncio.to_thread(Path(path).read_text)
    assert "# Wallet dump created by Flux" in text and f"# addr={address}" in text
    with pytest.raises(RpcError) as err:
        await rpc.call("dumpwallet", "mydump")
    assert err.value.code == -8 and "Cannot overwrite existing file" in err.value.message
    with pytest.raises(RpcError) as err:
        await rpc.call("backupwallet", "../escape")
    assert err.value.code == -4 and "only alphanumeric" in err.value.message
    await rpc2.call("importwallet", path)
    assert await rpc2.call("getbalance") == pytest.approx(await rpc.call("getbalance"))
    assert await rpc2.call("rescanblockchain") == "Rescan Completed"


async def test_multisig_sendmany_sendfrom_and_funding(
    rpc: JsonRpcClient, rpc2: JsonRpcClient
) -> None:
    await rpc.call("generate", 110)
    a, b = await rpc.call("getnewaddress"), await rpc2.call("getnewaddress")
    key_a = (await rpc.call("validateaddress", a))["pubkey"]
    key_b = (await rpc2.call("validateaddress", b))["pubkey"]
    multisig = await rpc.call("createmultisig", 2, [key_a, key_b])
    assert multisig["address"].startswith("t3")
    assert await rpc.call("addmultisigaddress", 2, [a, key_b]) == multisig["address"]
    txid = await rpc.call("sendmany", "", {multisig["address"]: 5, b: 1.5})
    await rpc.call("generate", 1)
    # spend the 2-of-2 output: each endpoint adds its signature in turn
    tx = await rpc.call("getrawtransaction", txid, 1)
    vout = next(
        o for o in tx["vout"] if o["scriptPubKey"].get("addresses") == [multisig["address"]]
    )
    prev = [
        {
            "txid": txid,
            "vout": vout["n"],
            "scriptPubKey": vout["scriptPubKey"]["hex"],
            "redeemScript": multisig["redeemScript"],
            "amount": 5,
        }
    ]
    raw = await rpc.call("createrawtransaction", [{"txid": txid, "vout": vout["n"]}], {a: 4.9999})
    half = await rpc.call("signrawtransaction", raw, prev)
    assert half["complete"] is False
    await rpc2.call("addmultisigaddress", 2, [key_a, b])
    full = await rpc2.call("signrawtransaction", half["hex"], prev)
    assert full["complete"] is True
    await rpc.call("sendrawtransaction", full["hex"])
    # sendfrom spends only that address and returns change to it
    await rpc.call("generate", 1)
    source = await rpc.call("getnewaddress")
    await rpc.call("sendtoaddress", source, 3)
    await rpc.call("generate", 1)
    spent = await rpc.call("sendfrom", source, b, 1)
    spent_tx = await rpc.call("getrawtransaction", spent, 1)
    assert {i["address"] for i in spent_tx["vin"]} == {source}
    with pytest.raises(RpcError) as err:
        await rpc.call("sendfrom", source, b, 50)
    assert (err.value.code, err.value.message) == (-6, "Address has insufficient funds")
    # fundrawtransaction adds inputs and one change output
    raw = await rpc.call("createrawtransaction", [], {b: 7})
    funded = await rpc.call("fundrawtransaction", raw)
    assert funded["changepos"] == 1 and funded["fee"] > 0
    signed = await rpc.call("signrawtransaction", funded["hex"])
    await rpc.call("sendrawtransaction", signed["hex"])


async def test_signmessage_verifies_with_fluxd_semantics(rpc: JsonRpcClient) -> None:
    address = await rpc.call("getnewaddress")
    signature = await rpc.call("signmessage", address, "hello flux")
    assert await rpc.call("verifymessage", address, signature, "hello flux") is True
    assert await rpc.call("verifymessage", address, signature, "hello fluxos") is False
    assert verify_flux_message("hello flux", address, signature)


async def test_submitblock_accepts_a_template_built_block(
    devnet: Devnet, rpc: JsonRpcClient
) -> None:
    await rpc.call("generate", 2)
    block = devnet.engine.miner  # the template and submitblock share the miner's block layout
    template = await rpc.call("getblocktemplate")
    assert template["height"] == await rpc.call("getblockcount") + 1
    parsed, _ = await devnet.engine.call(
        block.build, devnet.engine.mining_script(devnet.engine.endpoints[0])
    )
    assert await rpc.call("submitblock", parsed.raw.hex()) is None
    assert await rpc.call("getbestblockhash") == parsed.hash[::-1].hex()
    assert await rpc.call("submitblock", parsed.raw.hex()) == "duplicate"
    with pytest.raises(RpcError) as err:
        await rpc.call("submitblock", "00ff")
    assert err.value.code == -22
