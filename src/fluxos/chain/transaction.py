"""Flux transactions: decode versions 1–6, encode them back byte for byte, compute txids.

Layout follows fluxd's `CTransaction::SerializationOp`: v1/v2 Bitcoin-style (+ Sprout
joinsplits), v3 Overwinter and v4 Sapling (overwintered header bit + version group id,
expiry height, value balance and shielded descriptions), v5/v6 fluxnode start/confirm
transactions (no inputs or outputs, see `fluxnodetx`). Shielded parts are kept as opaque
byte blobs: the devnet never creates them but must carry mainnet ones unchanged.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from fluxos.chain.fluxnodetx import FluxnodeTx
from fluxos.chain.outpoint import NULL_HASH, OutPoint, hash_from_hex, hash_hex
from fluxos.chain.serialization import ByteReader, ByteWriter, DecodeError, compact_size

_U32 = struct.Struct("<I").pack
_I64 = struct.Struct("<q").pack
_U32_AT = struct.Struct("<I").unpack_from
_I64_AT = struct.Struct("<q").unpack_from

OVERWINTER_VERSION_GROUP_ID = 0x03C48270
SAPLING_VERSION_GROUP_ID = 0x892F2085
FLUXNODE_TX_VERSION = 5
FLUXNODE_TX_UPGRADEABLE_VERSION = 6
SEQUENCE_FINAL = 0xFFFFFFFF

SPEND_DESCRIPTION_SIZE = 32 * 4 + 192 + 64
OUTPUT_DESCRIPTION_SIZE = 32 * 3 + 580 + 80 + 192
_JOINSPLIT_FIXED = 8 + 8 + 32 + 64 + 64 + 32 + 32 + 64 + 2 * 601
GROTH_PROOF_SIZE = 192
PHGR_PROOF_SIZE = 296


@dataclass(slots=True)
class TxIn:
    prevout: OutPoint
    script_sig: bytes = b""
    sequence: int = SEQUENCE_FINAL


@dataclass(slots=True)
class TxOut:
    value: int  # satoshis
    script_pubkey: bytes


@dataclass(slots=True)
class Transaction:
    """A decoded transaction. Treat as immutable once its txid has been taken."""

    version: int = 4
    overwintered: bool = True
    version_group_id: int = SAPLING_VERSION_GROUP_ID
    vin: list[TxIn] = field(default_factory=list)
    vout: list[TxOut] = field(default_factory=list)
    lock_time: int = 0
    expiry_height: int = 0
    value_balance: int = 0
    shielded_spends: list[bytes] = field(default_factory=list)
    shielded_outputs: list[bytes] = field(default_factory=list)
    joinsplits: list[bytes] = field(default_factory=list)
    joinsplit_pubkey: bytes = b""
    joinsplit_sig: bytes = b""
    binding_sig: bytes = b""
    fluxnode: FluxnodeTx | None = None

    # ------------------------------------------------------------------ kinds
    @property
    def is_sapling(self) -> bool:
        return (
            self.overwintered
            and self.version == 4
            and self.version_group_id == SAPLING_VERSION_GROUP_ID
        )

    @property
    def is_overwinter_v3(self) -> bool:
        return (
            self.overwintered
            and self.version == 3
            and self.version_group_id == OVERWINTER_VERSION_GROUP_ID
        )

    @property
    def is_fluxnode(self) -> bool:
        return not self.overwintered and self.version in (
            FLUXNODE_TX_VERSION,
            FLUXNODE_TX_UPGRADEABLE_VERSION,
        )

    @property
    def is_coinbase(self) -> bool:
        return len(self.vin) == 1 and self.vin[0].prevout.is_null

    @property
    def has_shielded(self) -> bool:
        return bool(self.joinsplits or self.shielded_spends or self.shielded_outputs)

    def value_out(self) -> int:
        return sum(o.value for o in self.vout)

    # ------------------------------------------------------------------ codec
    def header(self) -> int:
        return self.version | (0x80000000 if self.overwintered else 0)

    def write(self, w: ByteWriter, for_hash: bool = False) -> None:
        """Serialize; `for_hash` leaves out fluxnode signatures as fluxd's SER_GETHASH does."""
        w.u32(self.header())
        if self.overwintered:
            w.u32(self.version_group_id)
        if self.is_fluxnode:
            assert self.fluxnode is not None, "fluxnode transaction without payload"
            self.fluxnode.write(w, self.version, for_hash)
            return
        # the hot path of the devnet: append packed bytes directly rather than per-field calls
        parts = w.parts
        parts.append(compact_size(len(self.vin)))
        for txin in self.vin:
            script = txin.script_sig
            parts.append(txin.prevout.txid)
            parts.append(_U32(txin.prevout.n))
            parts.append(compact_size(len(script)))
            parts.append(script)
            parts.append(_U32(txin.sequence))
        parts.append(compact_size(len(self.vout)))
        for out in self.vout:
            script = out.script_pubkey
            parts.append(_I64(out.value))
            parts.append(compact_size(len(script)))
            parts.append(script)
        w.u32(self.lock_time)
        sapling = self.is_sapling
        if sapling or self.is_overwinter_v3:
            w.u32(self.expiry_height)
        if sapling:
            w.i64(self.value_balance)
            w.compact_size(len(self.shielded_spends))
            for spend in self.shielded_spends:
                w.write(spend)
            w.compact_size(len(self.shielded_outputs))
            for output in self.shielded_outputs:
                w.write(output)
        if self.version >= 2:
            w.compact_size(len(self.joinsplits))
            for js in self.joinsplits:
                w.write(js)
            if self.joinsplits:
                w.write(self.joinsplit_pubkey)
                w.write(self.joinsplit_sig)
        if sapling and (self.shielded_spends or self.shielded_outputs):
            w.write(self.binding_sig)

    def serialize(self) -> bytes:
        w = ByteWriter()
        self.write(w)
        return w.getvalue()

    def txid(self) -> bytes:
        """Double-SHA256 of the hash serialization, internal byte order."""
        if self.is_fluxnode:
            w = ByteWriter()
            self.write(w, for_hash=True)
            return _sha256d(w.getvalue())
        return _sha256d(self.serialize())

    def txid_hex(self) -> str:
        return hash_hex(self.txid())

    @classmethod
    def read(cls, r: ByteReader) -> Transaction:
        header = r.u32()
        overwintered = bool(header >> 31)
        version = header & 0x7FFFFFFF
        tx = cls(version=version, overwintered=overwintered, version_group_id=0)
        if overwintered:
            tx.version_group_id = r.u32()
            if not (tx.is_sapling or tx.is_overwinter_v3):
                raise DecodeError("Unknown transaction format")
        if tx.is_fluxnode:
            tx.fluxnode = FluxnodeTx.read(r, version)
            return tx
        if version < 1:
            raise DecodeError(f"transaction version {version} is below 1")
        _read_transparent(r, tx)
        tx.lock_time = r.u32()
        if tx.is_sapling or tx.is_overwinter_v3:
            tx.expiry_height = r.u32()
        if tx.is_sapling:
            tx.value_balance = r.i64()
            tx.shielded_spends = [
                r.read(SPEND_DESCRIPTION_SIZE) for _ in range(r.count(SPEND_DESCRIPTION_SIZE))
            ]
            tx.shielded_outputs = [
                r.read(OUTPUT_DESCRIPTION_SIZE) for _ in range(r.count(OUTPUT_DESCRIPTION_SIZE))
            ]
        if version >= 2:
            size = joinsplit_size(tx.is_sapling)
            tx.joinsplits = [r.read(size) for _ in range(r.count(size))]
            if tx.joinsplits:
                tx.joinsplit_pubkey = r.read(32)
                tx.joinsplit_sig = r.read(64)
        if tx.is_sapling and (tx.shielded_spends or tx.shielded_outputs):
            tx.binding_sig = r.read(64)
        return tx

    @classmethod
    def from_bytes(cls, data: bytes) -> Transaction:
        """Decode exactly one transaction; DecodeError if malformed or followed by junk."""
        r = ByteReader(data)
        tx = cls.read(r)
        if not r.at_end():
            raise DecodeError(f"{r.remaining()} unexpected bytes after the transaction")
        return tx

    @classmethod
    def from_hex(cls, text: str) -> Transaction:
        try:
            data = bytes.fromhex(text)
        except ValueError as exc:
            raise DecodeError("not a hex string") from exc
        return cls.from_bytes(data)


def _read_transparent(r: ByteReader, tx: Transaction) -> None:
    """vin and vout, read straight off the buffer: the devnet replays every transaction of
    its chain on start, so this loop is the hot path of a restart."""
    data, pos, end = r.data, r.pos, len(r.data)
    vin, vout = tx.vin, tx.vout
    count, pos = _compact_at(data, pos, end)
    if count * 41 > end - pos:
        raise DecodeError(f"{count} inputs cannot fit in {end - pos} bytes")
    for _ in range(count):
        if pos + 37 > end:
            raise DecodeError("input runs past the end of the transaction")
        txid = data[pos : pos + 32]
        (n,) = _U32_AT(data, pos + 32)
        size, pos = _compact_at(data, pos + 36, end)
        stop = pos + size
        if stop + 4 > end:
            raise DecodeError("input script runs past the end of the transaction")
        (sequence,) = _U32_AT(data, stop)
        vin.append(TxIn(OutPoint(txid, n), data[pos:stop], sequence))
        pos = stop + 4
    count, pos = _compact_at(data, pos, end)
    if count * 9 > end - pos:
        raise DecodeError(f"{count} outputs cannot fit in {end - pos} bytes")
    for _ in range(count):
        if pos + 9 > end:
            raise DecodeError("output runs past the end of the transaction")
        (value,) = _I64_AT(data, pos)
        size, pos = _compact_at(data, pos + 8, end)
        stop = pos + size
        if stop > end:
            raise DecodeError("output script runs past the end of the transaction")
        vout.append(TxOut(value, data[pos:stop]))
        pos = stop
    r.pos = pos


def _compact_at(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A compact size at `pos` → (value, next position), with the reader's checks."""
    if pos >= end:
        raise DecodeError(f"need 1 byte at offset {pos}")
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    r = ByteReader(data, pos)
    value = r.compact_size()
    return value, r.pos


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def joinsplit_size(groth: bool) -> int:
    return _JOINSPLIT_FIXED + (GROTH_PROOF_SIZE if groth else PHGR_PROOF_SIZE)


__all__ = ["NULL_HASH", "OutPoint", "Transaction", "TxIn", "TxOut", "hash_from_hex", "hash_hex"]
