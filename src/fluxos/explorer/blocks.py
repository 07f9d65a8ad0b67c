"""The explorer's view of a block: only what the indexes need, built from either fluxd's
verbose JSON (`getblock h 2`) or the raw block bytes (`getblock h 0`) decoded locally.

Both builders produce the same `ChainBlock`, so the recognisers and indexes never see
which one the scanner used. Amounts are satoshis; hashes are fluxd's display hex.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fluxos.chain.block import BlockHeader
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE, tier_name
from fluxos.chain.outpoint import hash_hex
from fluxos.chain.script import is_p2pkh, is_p2sh, script_addresses, to_asm
from fluxos.chain.serialization import ByteReader, DecodeError
from fluxos.chain.transaction import Transaction
from fluxos.crypto.addresses import FLUX_P2PKH, FLUX_P2SH, address_from_hash

# Address-indexed script types, as fluxd's insight address index keys them (P2PKH, P2SH).
INDEXED_TYPES = frozenset({"pubkeyhash", "scripthash"})
FLUXNODE_TYPES = {START_TX_TYPE: "Starting a fluxnode", CONFIRM_TX_TYPE: "Confirming a fluxnode"}


class BlockFormatError(ValueError):
    """A block or transaction from fluxd lacks a field the explorer needs."""


@dataclass(slots=True)
class TxOutput:
    n: int
    satoshis: int
    address: str | None  # scriptPubKey.addresses[0], whatever the script type
    indexed: bool  # P2PKH or P2SH: the output belongs to the address index
    script: str  # scriptPubKey hex


@dataclass(slots=True)
class TxInput:
    txid: str
    vout: int
    address: str | None = None  # vin[].address, present when fluxd keeps the spent index


@dataclass(slots=True)
class FluxnodeFields:
    """The parts of a v5/v6 fluxnode transaction the fluxnode-transaction index keeps."""

    type: str
    collateral_hash: str
    collateral_index: int
    ip: str | None = None
    update_type: int | None = None
    benchmark_tier: str | None = None


@dataclass(slots=True)
class ChainTx:
    txid: str
    version: int
    position: int  # index inside its block
    coinbase: bool = False
    inputs: list[TxInput] = field(default_factory=list)
    outputs: list[TxOutput] = field(default_factory=list)
    # asm of the last output whose asm is non-empty: the only one the app-payment and
    # chain-message rules read (upstream overwrites its message at every such output).
    memo_asm: str = ""
    fluxnode: FluxnodeFields | None = None


@dataclass(slots=True)
class ChainBlock:
    height: int
    hash: str
    prev_hash: str | None
    time: int
    txs: list[ChainTx] = field(default_factory=list)


# ----------------------------------------------------------------------- from JSON


def block_from_json(block: dict[str, Any]) -> ChainBlock:
    """A `getblock <h> 2` result."""
    try:
        txs = block["tx"]
        built = ChainBlock(
            height=int(block["height"]),
            hash=str(block["hash"]),
            prev_hash=block.get("previousblockhash"),
            time=int(block["time"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BlockFormatError(f"getblock result lacks {exc}") from None
    if not txs or not isinstance(txs[0], dict):
        raise BlockFormatError(f"block {built.height}: getblock must be called with verbosity 2")
    built.txs = [tx_from_json(tx, position) for position, tx in enumerate(txs)]
    return built


def tx_from_json(tx: dict[str, Any], position: int = 0) -> ChainTx:
    """A transaction object as getrawtransaction (verbose) or getblock 2 print it."""
    try:
        built = ChainTx(txid=str(tx["txid"]), version=int(tx["version"]), position=position)
        if "collateral" in tx or "txhash" in tx:
            built.fluxnode = _fluxnode_from_json(tx)
            return built
        vin = tx.get("vin") or []
        if vin and "coinbase" in vin[0]:
            built.coinbase = True
        else:
            built.inputs = [TxInput(i["txid"], int(i["vout"]), i.get("address")) for i in vin]
        outputs = built.outputs
        for item in tx.get("vout") or []:
            spk = item["scriptPubKey"]
            addresses = spk.get("addresses")
            outputs.append(
                TxOutput(
                    n=int(item["n"]),
                    satoshis=_satoshis(item),
                    address=addresses[0] if addresses else None,
                    indexed=spk.get("type") in INDEXED_TYPES and bool(addresses),
                    script=spk.get("hex", ""),
                )
            )
            if spk.get("asm"):
                built.memo_asm = spk["asm"]
    except (KeyError, TypeError, ValueError) as exc:
        raise BlockFormatError(f"transaction {tx.get('txid')}: missing or bad {exc}") from None
    return built


def _satoshis(vout: dict[str, Any]) -> int:
    # fluxd prints valueZat always and valueSat with the spent index; `value` is a float
    # that cannot be trusted to the last satoshi, so it is only the final fallback.
    for key in ("valueSat", "valueZat"):
        value = vout.get(key)
        if value is not None:
            return int(value)
    return round(float(vout["value"]) * 100_000_000)


def _fluxnode_from_json(tx: dict[str, Any]) -> FluxnodeFields:
    collateral_hash = tx.get("txhash")
    collateral_index = tx.get("outidx")
    if collateral_hash is None or collateral_index is None:
        collateral_hash, collateral_index = _parse_outpoint(str(tx["collateral"]))
    update_type = tx.get("update_type")
    return FluxnodeFields(
        type=str(tx.get("type", "")),
        collateral_hash=str(collateral_hash),
        collateral_index=int(collateral_index),
        ip=tx.get("ip") or None,
        update_type=int(update_type) if update_type is not None else None,
        benchmark_tier=tx.get("benchmark_tier"),
    )


def _parse_outpoint(text: str) -> tuple[str, int]:
    """`COutPoint(<64 hex>, n)` → (hash, n)."""
    inner = text.removeprefix("COutPoint(").removesuffix(")")
    txid, _, index = inner.partition(",")
    return txid.strip(), int(index.strip())


# ----------------------------------------------------------------------- from bytes


def block_from_raw(raw: bytes, height: int) -> ChainBlock:
    """A `getblock <h> 0` result (hex-decoded); the height comes from the caller."""
    reader = ByteReader(raw)
    header = BlockHeader.read(reader)
    prev = header.prev_hash
    block = ChainBlock(
        height=height,
        hash=header.hash_hex(),
        prev_hash=hash_hex(prev) if any(prev) else None,
        time=header.time,
    )
    data = reader.data
    for position in range(reader.count(10)):
        start = reader.pos
        tx = Transaction.read(reader)
        if tx.is_fluxnode:
            txid = tx.txid_hex()
        else:
            txid = (
                hashlib.sha256(hashlib.sha256(data[start : reader.pos]).digest())
                .digest()[::-1]
                .hex()
            )
        block.txs.append(_tx_from_decoded(tx, txid, position))
    if not reader.at_end():
        raise DecodeError(f"{reader.remaining()} unexpected bytes after block {height}")
    return block


@lru_cache(maxsize=65_536)
def _address(prefix: bytes, h160: bytes) -> str:
    # base58check is a third of raw decoding, and chains reuse addresses heavily
    return address_from_hash(prefix, h160)


def _tx_from_decoded(tx: Transaction, txid: str, position: int) -> ChainTx:
    built = ChainTx(txid=txid, version=tx.version, position=position)
    if tx.is_fluxnode and tx.fluxnode is not None:
        fn = tx.fluxnode
        confirm = fn.type == CONFIRM_TX_TYPE
        built.fluxnode = FluxnodeFields(
            type=FLUXNODE_TYPES.get(fn.type, "No type (Error)"),
            collateral_hash=hash_hex(fn.collateral.txid),
            collateral_index=fn.collateral.n,
            ip=fn.ip or None,
            update_type=fn.update_type if confirm else None,
            benchmark_tier=tier_name(fn.benchmark_tier) if confirm else None,
        )
        return built
    if tx.is_coinbase:
        built.coinbase = True
    else:
        built.inputs = [TxInput(hash_hex(i.prevout.txid), i.prevout.n) for i in tx.vin]
    last_script = b""
    for n, out in enumerate(tx.vout):
        script = out.script_pubkey
        if is_p2pkh(script):
            address: str | None = _address(FLUX_P2PKH, script[3:23])
            indexed = True
        elif is_p2sh(script):
            address = _address(FLUX_P2SH, script[2:22])
            indexed = True
        else:
            addresses = script_addresses(script)[1] if script else []
            address = addresses[0] if addresses else None
            indexed = False
        built.outputs.append(TxOutput(n, out.value, address, indexed, script.hex()))
        if script:
            last_script = script
    if last_script:
        # Only the last non-empty script's asm is ever read, so only it is rendered.
        built.memo_asm = to_asm(last_script)
    return built
