"""The script rules fluxos used to get wrong, exercised the way a wallet meets them: fund
an output over RPC, build the spend with createrawtransaction, put the unlocking script in,
and send it with sendrawtransaction (mempool: fluxd's standard flags) or in a block with
submitblock (fluxd's consensus flags: P2SH and CHECKLOCKTIMEVERIFY).

Each expected verdict is what fluxd answers for that spend.
"""

from __future__ import annotations

from typing import Any

from fluxos.chain.block import Block
from fluxos.chain.script import p2pkh_script, push_data, push_int
from fluxos.chain.sighash import SighashCache
from fluxos.chain.transaction import Transaction
from fluxos.crypto.addresses import flux_address, flux_p2sh_address
from fluxos.crypto.hashes import hash160
from fluxos.crypto.keys import PrivateKey
from fluxos.jsonrpc import JsonRpcClient, RpcError

COIN = 100_000_000
FEE = 10_000
OP_NOP, OP_DROP, OP_1, OP_15 = 0x61, 0x75, 0x51, 0x5F
OP_CODESEPARATOR, OP_CHECKLOCKTIMEVERIFY, OP_CHECKMULTISIG = 0xAB, 0xB1, 0xAE

# 186 NOPs + CHECKMULTISIG are 187 operations; its 15 keys make 202 > 201
OP_LIMIT_REDEEM = bytes([OP_NOP] * 186 + [0x00, 0x00] + [0x00] * 15 + [OP_15, OP_CHECKMULTISIG])
CODESEPARATOR_REDEEM = bytes([OP_CODESEPARATOR, OP_1])


def cltv_redeem(height: int) -> bytes:
    return push_int(height) + bytes([OP_CHECKLOCKTIMEVERIFY, OP_DROP, OP_1])


async def fund(rpc: JsonRpcClient, address: str) -> tuple[str, int]:
    """Pay 1 FLUX to `address`, mine it; the (txid, vout) of that output."""
    txid = await rpc.call("sendtoaddress", address, 1)
    await rpc.call("generate", 1)
    tx = await rpc.call("getrawtransaction", txid, 1)
    (vout,) = [o["n"] for o in tx["vout"] if o["scriptPubKey"].get("addresses") == [address]]
    return txid, vout


async def spend(
    rpc: JsonRpcClient,
    coin: tuple[str, int],
    script_sig: bytes,
    lock_time: int = 0,
    sequence: int = 0xFFFFFFFF,
) -> Transaction:
    """The 1-FLUX coin sent back to the wallet (less a fee), unlocked with `script_sig`."""
    to = await rpc.call("getnewaddress")
    raw = await rpc.call(
        "createrawtransaction",
        [{"txid": coin[0], "vout": coin[1]}],
        {to: (COIN - FEE) / COIN},
    )
    tx = Transaction.from_hex(raw)
    tx.lock_time = lock_time
    tx.vin[0].sequence = sequence
    tx.vin[0].script_sig = script_sig
    return tx


async def send(rpc: JsonRpcClient, tx: Transaction) -> RpcError | str:
    try:
        return str(await rpc.call("sendrawtransaction", tx.serialize().hex()))
    except RpcError as exc:
        return exc


async def in_a_block(rpc: JsonRpcClient, tx: Transaction) -> Any:
    """submitblock's answer for a block holding `tx`: the next block's coinbase (mined,
    read back raw and invalidated so the new block extends the same tip) plus `tx`."""
    (mined,) = await rpc.call("generate", 1)
    block = Block.from_bytes(bytes.fromhex(await rpc.call("getblock", mined, 0)))
    await rpc.call("invalidateblock", mined)
    block.txs.append(tx)
    block.header.merkle_root = block.compute_merkle_root()
    return await rpc.call("submitblock", block.serialize().hex())


def p2sh_unlock(redeem: bytes) -> bytes:
    return push_data(redeem)


def rejected(result: RpcError | str, code: int, message: str) -> bool:
    return isinstance(result, RpcError) and (result.code, result.message) == (code, message)


async def test_mempool_gives_fluxds_verdict_for_each_rule(rpc: JsonRpcClient) -> None:
    await rpc.call("generate", 101)
    tip = await rpc.call("getblockcount")

    coin = await fund(rpc, flux_p2sh_address(CODESEPARATOR_REDEEM))
    result = await send(rpc, await spend(rpc, coin, p2sh_unlock(CODESEPARATOR_REDEEM)))
    assert rejected(
        result, -26, "16: mandatory-script-verify-flag-failed (Attempted to use a disabled opcode)"
    ), result

    coin = await fund(rpc, flux_p2sh_address(OP_LIMIT_REDEEM))
    result = await send(rpc, await spend(rpc, coin, p2sh_unlock(OP_LIMIT_REDEEM)))
    assert rejected(
        result, -26, "16: mandatory-script-verify-flag-failed (Operation limit exceeded)"
    ), result

    # CHECKLOCKTIMEVERIFY: a lock above the transaction's lock time is refused (non-standard:
    # the mandatory flags alone leave it a NOP2), one at or below it is accepted and mined
    tip = await rpc.call("getblockcount")
    locked = cltv_redeem(tip + 5)
    coin = await fund(rpc, flux_p2sh_address(locked))
    early = await spend(rpc, coin, p2sh_unlock(locked), lock_time=tip, sequence=0xFFFFFFFE)
    assert rejected(
        await send(rpc, early),
        -26,
        "64: non-mandatory-script-verify-flag (Locktime requirement not satisfied)",
    )
    final_input = await spend(rpc, coin, p2sh_unlock(locked), lock_time=tip + 5)
    assert rejected(
        await send(rpc, final_input),
        -26,
        "64: non-mandatory-script-verify-flag (Locktime requirement not satisfied)",
    )
    tip = await rpc.call("getblockcount")
    unlocked = cltv_redeem(tip - 1)
    coin = await fund(rpc, flux_p2sh_address(unlocked))
    ok = await spend(rpc, coin, p2sh_unlock(unlocked), lock_time=tip, sequence=0xFFFFFFFE)
    txid = await send(rpc, ok)
    assert txid == ok.txid_hex()
    await rpc.call("generate", 1)
    assert (await rpc.call("getrawtransaction", txid, 1))["confirmations"] == 1


async def _hash_type_spend(rpc: JsonRpcClient) -> Transaction:
    """A P2PKH spend signed with hash type 0x41: undefined (so non-standard), but it hashes
    as SIGHASH_ALL and verifies, so it is valid by consensus."""
    key = PrivateKey.generate()
    coin = await fund(rpc, flux_address(key.public_key))
    tx = await spend(rpc, coin, b"")
    script_code = p2pkh_script(hash160(key.public_key))
    digest = SighashCache(tx).digest(0, script_code, COIN, 0x41)
    tx.vin[0].script_sig = push_data(key.sign_der(digest) + b"\x41") + push_data(key.public_key)
    return tx


async def test_blocks_use_the_consensus_flags(rpc: JsonRpcClient) -> None:
    await rpc.call("generate", 101)

    odd = await _hash_type_spend(rpc)
    assert rejected(
        await send(rpc, odd),
        -26,
        "64: non-mandatory-script-verify-flag (Signature hash type missing or not understood)",
    )
    height = await rpc.call("getblockcount")
    assert await in_a_block(rpc, odd) is None  # consensus-valid: the block is accepted
    assert await rpc.call("getblockcount") == height + 1
    assert (await rpc.call("getrawtransaction", odd.txid_hex(), 1))["confirmations"] == 1

    coin = await fund(rpc, flux_p2sh_address(CODESEPARATOR_REDEEM))
    bad = await spend(rpc, coin, p2sh_unlock(CODESEPARATOR_REDEEM))
    assert await in_a_block(rpc, bad) == (
        "mandatory-script-verify-flag-failed (Attempted to use a disabled opcode)"
    )

    tip = await rpc.call("getblockcount")
    locked = cltv_redeem(tip + 50)
    coin = await fund(rpc, flux_p2sh_address(locked))
    early = await spend(rpc, coin, p2sh_unlock(locked), lock_time=tip, sequence=0xFFFFFFFE)
    # fluxd's ConnectBlock enforces CHECKLOCKTIMEVERIFY; the reason names the non-mandatory
    # flag because the spend passes without it, but the block is refused all the same
    assert await in_a_block(rpc, early) == (
        "non-mandatory-script-verify-flag (Locktime requirement not satisfied)"
    )
    assert await rpc.call("getblockcount") == tip + 1  # the funding block; no new one
