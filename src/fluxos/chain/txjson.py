"""fluxd's JSON form of a transaction (TxToJSON), as decoderawtransaction and
getrawtransaction print it.

Spent-index extras (`vin[].value/valueSat/address`, `vout[].spent*`) and block context
come from callbacks so this module stays free of chain state.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE, FluxnodeTx, tier_name
from fluxos.chain.outpoint import OutPoint, hash_hex
from fluxos.chain.script import script_json, to_asm
from fluxos.chain.transaction import Transaction, joinsplit_size


@dataclass(frozen=True, slots=True)
class SpentInfo:
    """Who spent an output (fluxd's CSpentIndexValue), plus what the output held."""

    txid: bytes
    input_index: int
    height: int
    satoshis: int
    address: str | None


SpentLookup = Callable[[OutPoint], SpentInfo | None]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fluxnode_fields(fn: FluxnodeTx, version: int) -> dict[str, Any]:
    """The fluxnode part of a v5/v6 transaction's JSON."""
    out: dict[str, Any] = {
        "type": {
            START_TX_TYPE: "Starting a fluxnode",
            CONFIRM_TX_TYPE: "Confirming a fluxnode",
        }.get(fn.type, "No type (Error)"),
        "collateral_output": fn.collateral.short(),
        "collateral": fn.collateral.full(),
        "txhash": hash_hex(fn.collateral.txid),
        "outidx": str(fn.collateral.n),
        "sigtime": fn.sig_time,
        "sig": _b64(fn.sig),
        "ip": fn.ip,
    }
    if fn.type == START_TX_TYPE:
        if version == 6:
            out["fluxnode_upgraded_tx_version"] = fn.flux_tx_version
            if not fn.is_p2sh:
                out["collateral_pubkey"] = _b64(fn.collateral_pubkey)
            else:
                out["redeemscript"] = to_asm(fn.redeem_script)
            if fn.has_delegates_feature and fn.using_delegates and fn.delegates is not None:
                out["using_delegates"] = True
                out["delegate_data"] = {
                    "version": fn.delegates.version,
                    "type": fn.delegates.type,
                    "keys": [_b64(k) for k in fn.delegates.keys],
                }
        else:
            out["collateral_pubkey"] = _b64(fn.collateral_pubkey)
        out["zelnode_pubkey"] = _b64(fn.pubkey)
    if fn.type == CONFIRM_TX_TYPE:
        out["update_type"] = fn.update_type
        out["benchmark_tier"] = tier_name(fn.benchmark_tier)
        out["benchmark_sigtime"] = fn.benchmark_sig_time
        out["benchmark_sig"] = _b64(fn.benchmark_sig)
    return out


def _joinsplit_json(raw: bytes, groth: bool) -> dict[str, Any]:
    def h(offset: int) -> str:
        return hash_hex(raw[offset : offset + 32])

    vpub_old = int.from_bytes(raw[0:8], "little", signed=True)
    vpub_new = int.from_bytes(raw[8:16], "little", signed=True)
    proof_at = 16 + 32 + 64 + 64 + 32 + 32 + 64
    proof_len = joinsplit_size(groth) - proof_at - 2 * 601
    ct_at = proof_at + proof_len
    return {
        "vpub_old": to_coins(vpub_old),
        "vpub_oldZat": vpub_old,
        "vpub_new": to_coins(vpub_new),
        "vpub_newZat": vpub_new,
        "anchor": h(16),
        "nullifiers": [h(48), h(80)],
        "commitments": [h(112), h(144)],
        "onetimePubKey": h(176),
        "randomSeed": h(208),
        "macs": [h(240), h(272)],
        "proof": raw[proof_at:ct_at].hex(),
        "ciphertexts": [raw[ct_at : ct_at + 601].hex(), raw[ct_at + 601 : ct_at + 1202].hex()],
    }


def _spend_json(raw: bytes) -> dict[str, Any]:
    return {
        "cv": hash_hex(raw[0:32]),
        "anchor": hash_hex(raw[32:64]),
        "nullifier": hash_hex(raw[64:96]),
        "rk": hash_hex(raw[96:128]),
        "proof": raw[128:320].hex(),
        "spendAuthSig": raw[320:384].hex(),
    }


def _output_json(raw: bytes) -> dict[str, Any]:
    return {
        "cv": hash_hex(raw[0:32]),
        "cmu": hash_hex(raw[32:64]),
        "ephemeralKey": hash_hex(raw[64:96]),
        "encCiphertext": raw[96:676].hex(),
        "outCiphertext": raw[676:756].hex(),
        "proof": raw[756:948].hex(),
    }


def tx_to_json(
    tx: Transaction,
    txid: bytes | None = None,
    spent: SpentLookup | None = None,
) -> dict[str, Any]:
    """TxToJSON without block context (`txid` may be passed when already known)."""
    txid = txid or tx.txid()
    entry: dict[str, Any] = {"txid": hash_hex(txid), "version": tx.version}
    if tx.is_fluxnode and tx.fluxnode is not None:
        entry.update(fluxnode_fields(tx.fluxnode, tx.version))
        return entry
    entry["overwintered"] = tx.overwintered
    if tx.overwintered:
        entry["versiongroupid"] = f"{tx.version_group_id:08x}"
    entry["locktime"] = tx.lock_time
    if tx.overwintered:
        entry["expiryheight"] = tx.expiry_height
    coinbase = tx.is_coinbase
    vin: list[dict[str, Any]] = []
    for txin in tx.vin:
        item: dict[str, Any]
        if coinbase:
            item = {"coinbase": txin.script_sig.hex()}
        else:
            item = {
                "txid": hash_hex(txin.prevout.txid),
                "vout": txin.prevout.n,
                "scriptSig": {"asm": to_asm(txin.script_sig, True), "hex": txin.script_sig.hex()},
            }
            info = spent(txin.prevout) if spent else None
            if info is not None:
                item["value"] = to_coins(info.satoshis)
                item["valueSat"] = info.satoshis
                if info.address:
                    item["address"] = info.address
        item["sequence"] = txin.sequence
        vin.append(item)
    entry["vin"] = vin
    vout: list[dict[str, Any]] = []
    for n, out in enumerate(tx.vout):
        item = {
            "value": to_coins(out.value),
            "valueZat": out.value,
            "valueSat": out.value,
            "n": n,
            "scriptPubKey": script_json(out.script_pubkey),
        }
        info = spent(OutPoint(txid, n)) if spent else None
        if info is not None:
            item["spentTxId"] = hash_hex(info.txid)
            item["spentIndex"] = info.input_index
            item["spentHeight"] = info.height
        vout.append(item)
    entry["vout"] = vout
    groth = tx.is_sapling
    entry["vJoinSplit"] = [_joinsplit_json(js, groth) for js in tx.joinsplits]
    if groth:
        entry["valueBalance"] = to_coins(tx.value_balance)
        entry["valueBalanceZat"] = tx.value_balance
        entry["vShieldedSpend"] = [_spend_json(s) for s in tx.shielded_spends]
        entry["vShieldedOutput"] = [_output_json(o) for o in tx.shielded_outputs]
        if tx.shielded_spends or tx.shielded_outputs:
            entry["bindingSig"] = tx.binding_sig.hex()
    return entry
