"""Blocks in fluxd's layout: header (PoW v4 or PON v100), transactions, double-SHA256 hash.

Header fields: version, previous hash, merkle root, final sapling root, time, bits, then
either nonce + Equihash solution (version < 100) or the producing node's collateral
outpoint + block signature (PON, version ≥ 100; the signature is not hashed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from fluxos.chain.merkle import merkle_root
from fluxos.chain.outpoint import NULL_HASH, OutPoint, hash_hex
from fluxos.chain.serialization import ByteReader, ByteWriter, DecodeError
from fluxos.chain.transaction import Transaction

POW_VERSION = 4
PON_VERSION = 100


@dataclass(slots=True)
class BlockHeader:
    version: int = POW_VERSION
    prev_hash: bytes = NULL_HASH
    merkle_root: bytes = NULL_HASH
    final_sapling_root: bytes = NULL_HASH
    time: int = 0
    bits: int = 0
    nonce: bytes = NULL_HASH
    solution: bytes = b""
    collateral: OutPoint | None = None  # PON only
    block_sig: bytes = b""  # PON only

    @property
    def is_pon(self) -> bool:
        return self.version >= PON_VERSION

    def write(self, w: ByteWriter, for_hash: bool = False) -> None:
        w.i32(self.version)
        w.write(self.prev_hash)
        w.write(self.merkle_root)
        w.write(self.final_sapling_root)
        w.u32(self.time)
        w.u32(self.bits)
        if self.is_pon:
            (self.collateral or OutPoint(NULL_HASH, 0xFFFFFFFF)).write(w)
            if not for_hash:
                w.var_bytes(self.block_sig)
        else:
            w.write(self.nonce)
            w.var_bytes(self.solution)

    def serialize(self) -> bytes:
        w = ByteWriter()
        self.write(w)
        return w.getvalue()

    def hash(self) -> bytes:
        w = ByteWriter()
        self.write(w, for_hash=True)
        return hashlib.sha256(hashlib.sha256(w.getvalue()).digest()).digest()

    def hash_hex(self) -> str:
        return hash_hex(self.hash())

    @classmethod
    def read(cls, r: ByteReader) -> BlockHeader:
        h = cls(
            version=r.i32(),
            prev_hash=r.read(32),
            merkle_root=r.read(32),
            final_sapling_root=r.read(32),
            time=r.u32(),
            bits=r.u32(),
        )
        if h.is_pon:
            h.collateral = OutPoint.read(r)
            h.block_sig = r.var_bytes()
        else:
            h.nonce = r.read(32)
            h.solution = r.var_bytes()
        return h


@dataclass(slots=True)
class Block:
    header: BlockHeader
    txs: list[Transaction] = field(default_factory=list)

    def serialize(self) -> bytes:
        w = ByteWriter()
        self.header.write(w)
        w.compact_size(len(self.txs))
        for tx in self.txs:
            tx.write(w)
        return w.getvalue()

    def compute_merkle_root(self) -> bytes:
        return merkle_root([tx.txid() for tx in self.txs])

    @classmethod
    def from_bytes(cls, data: bytes) -> Block:
        r = ByteReader(data)
        header = BlockHeader.read(r)
        txs = [Transaction.read(r) for _ in range(r.count(10))]
        if not r.at_end():
            raise DecodeError(f"{r.remaining()} unexpected bytes after the block")
        return cls(header, txs)


def bits_to_target(bits: int) -> int:
    """Expand the compact difficulty encoding."""
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    if exponent <= 3:
        return mantissa >> (8 * (3 - exponent))
    return mantissa << (8 * (exponent - 3))


def difficulty(bits: int, pow_limit_bits: int) -> float:
    """fluxd's GetDifficulty: the pow limit's target over this target, as a float."""
    target = bits_to_target(bits)
    return bits_to_target(pow_limit_bits) / target if target else 0.0


def block_work(bits: int) -> int:
    """Expected number of hashes for a block at `bits` (arith: 2^256 / (target + 1))."""
    return (1 << 256) // (bits_to_target(bits) + 1)
