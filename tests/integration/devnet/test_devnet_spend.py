"""Money moves over real RPC: fund, send, mine; balances, wallet history and the address
index agree; a double spend is refused; raw transactions with OP_RETURN data work."""

from __future__ import annotations

import pytest

from fluxos.jsonrpc import JsonRpcClient, RpcError

COIN = 100_000_000


async def _funded(rpc: JsonRpcClient) -> str:
    """Mine until endpoint 1 has mature coins; returns its mining address."""
    await rpc.call("generate", 101)
    return await rpc.call("getnewaddress")


async def test_fund_send_mine_and_indexes_agree(rpc: JsonRpcClient, rpc2: JsonRpcClient) -> None:
    await _funded(rpc)
    start_height = await rpc.call("getblockcount")
    assert start_height == 2_200_000 + 100
    balance = await rpc.call("getbalance")
    assert balance == pytest.approx(13.5)  # one mature coinbase: 14 FLUX minus the dev fund's 0.5

    receiver = await rpc2.call("getnewaddress")
    txid = await rpc.call("sendtoaddress", receiver, 2.5)
    assert await rpc2.call("getrawmempool") == [txid]  # one shared mempool
    pending = await rpc2.call("getaddressmempool", {"addresses": [receiver]})
    assert [(p["txid"], p["satoshis"]) for p in pending] == [(txid, 250_000_000)]

    block_hash = (await rpc.call("generate", 1))[0]
    block = await rpc2.call("getblock", block_hash, 1)
    assert txid in block["tx"] and block["height"] == start_height + 1

    assert await rpc2.call("getbalance") == pytest.approx(2.5)
    assert await rpc2.call("getreceivedbyaddress", receiver) == pytest.approx(2.5)
    index_balance = await rpc2.call("getaddressbalance", {"addresses": [receiver]})
    assert index_balance == {"balance": 250_000_000, "received": 250_000_000}
    assert await rpc.call("getaddresstxids", {"addresses": [receiver]}) == [txid]
    utxos = await rpc.call("getaddressutxos", {"addresses": [receiver]})
    assert [(u["txid"], u["satoshis"], u["height"]) for u in utxos] == [
        (txid, 250_000_000, start_height + 1)
    ]

    tx = await rpc.call("getrawtransaction", txid, 1)
    fee = (tx["vin"][0]["valueSat"]) - sum(o["valueSat"] for o in tx["vout"])
    assert fee > 0
    assert tx["confirmations"] == 1 and tx["blockhash"] == block_hash
    # change of the first coinbase, plus the second coinbase that matured with the new block
    assert await rpc.call("getbalance") == pytest.approx(13.5 - 2.5 - fee / COIN + 13.5, abs=1e-8)
    spent = await rpc.call(
        "getspentinfo", {"txid": tx["vin"][0]["txid"], "index": tx["vin"][0]["vout"]}
    )
    assert spent == {"txid": txid, "index": 0, "height": start_height + 1}

    history = await rpc2.call("listtransactions")
    assert [(h["txid"], h["category"], h["amount"]) for h in history] == [(txid, "receive", 2.5)]
    sent = await rpc.call("gettransaction", txid)
    assert sent["amount"] == pytest.approx(-2.5) and sent["fee"] == pytest.approx(-fee / COIN)
    assert sent["details"][0]["category"] == "send"


async def test_double_spend_is_refused(rpc: JsonRpcClient, rpc2: JsonRpcClient) -> None:
    await _funded(rpc)
    (coin,) = await rpc.call("listunspent")
    target = await rpc2.call("getnewaddress")
    other = await rpc2.call("getnewaddress")

    async def spend(address: str) -> str:
        raw = await rpc.call(
            "createrawtransaction",
            [{"txid": coin["txid"], "vout": coin["vout"]}],
            {address: 13.4999},
        )
        signed = await rpc.call("signrawtransaction", raw)
        assert signed["complete"] is True
        return signed["hex"]

    first, second = await spend(target), await spend(other)
    txid = await rpc.call("sendrawtransaction", first)
    with pytest.raises(RpcError) as err:
        await rpc.call("sendrawtransaction", second)
    assert (err.value.code, err.value.message) == (-26, "18: txn-mempool-conflict")
    await rpc.call("generate", 1)
    with pytest.raises(RpcError) as err:
        await rpc.call("sendrawtransaction", second)
    assert err.value.code == -26 and "bad-txns-inputs-spent" in err.value.message
    with pytest.raises(RpcError) as err:
        await rpc.call("sendrawtransaction", first)
    assert err.value.code == -27  # already in the chain
    assert (await rpc.call("getrawtransaction", txid, 1))["confirmations"] == 1


async def test_raw_transaction_with_op_return_data(rpc: JsonRpcClient) -> None:
    await _funded(rpc)
    (coin,) = await rpc.call("listunspent")
    payee = await rpc.call("getnewaddress")
    app_hash = "ab" * 32
    raw = await rpc.call(
        "createrawtransaction",
        [{"txid": coin["txid"], "vout": coin["vout"]}],
        {payee: 13.4999, "data": app_hash},
    )
    decoded = await rpc.call("decoderawtransaction", raw)
    assert decoded["vout"][1]["scriptPubKey"] == {
        "asm": f"OP_RETURN {app_hash}",
        "hex": "6a20" + app_hash,
        "type": "nulldata",
    }
    signed = await rpc.call("signrawtransaction", raw)
    txid = await rpc.call("sendrawtransaction", signed["hex"])
    await rpc.call("generate", 1)
    mined = await rpc.call("getrawtransaction", txid, 1)
    assert mined["vout"][1]["scriptPubKey"]["type"] == "nulldata"
    proof = await rpc.call("gettxoutproof", [txid])
    assert await rpc.call("verifytxoutproof", proof) == [txid]


async def test_unsigned_or_wrongly_signed_spend_is_rejected(
    rpc: JsonRpcClient, rpc2: JsonRpcClient
) -> None:
    await _funded(rpc)
    (coin,) = await rpc.call("listunspent")
    raw = await rpc.call(
        "createrawtransaction",
        [{"txid": coin["txid"], "vout": coin["vout"]}],
        {await rpc.call("getnewaddress"): 13.4999},
    )
    with pytest.raises(RpcError) as err:
        await rpc.call("sendrawtransaction", raw)
    # fluxd's AreInputsStandard: a P2PKH scriptSig needs two items; its refusal carries no
    # reject reason, so sendrawtransaction answers -25 (RPC_TRANSACTION_ERROR)
    assert err.value.code == -25
    # endpoint 2 has no key for that coin: signing leaves an error per input
    attempt = await rpc2.call("signrawtransaction", raw)
    assert attempt["complete"] is False and attempt["errors"][0]["txid"] == coin["txid"]
