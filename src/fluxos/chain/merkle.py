"""Merkle roots and partial merkle trees (the proof inside gettxoutproof's CMerkleBlock)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fluxos.chain.serialization import ByteReader, ByteWriter, DecodeError


def _pair(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(a + b).digest()).digest()


def merkle_root(hashes: list[bytes]) -> bytes:
    """Bitcoin's merkle root (an odd level repeats its last hash); zero hash when empty."""
    if not hashes:
        return bytes(32)
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _tree_width(n_tx: int, height: int) -> int:
    return (n_tx + (1 << height) - 1) >> height


def _tree_height(n_tx: int) -> int:
    height = 0
    while _tree_width(n_tx, height) > 1:
        height += 1
    return height


@dataclass(slots=True)
class PartialMerkleTree:
    """CPartialMerkleTree: transaction count, the hashes needed, and the traversal bits."""

    n_tx: int
    hashes: list[bytes]
    bits: list[bool]

    @classmethod
    def build(cls, txids: list[bytes], matches: list[bool]) -> PartialMerkleTree:
        tree = cls(len(txids), [], [])

        def node_hash(height: int, pos: int) -> bytes:
            if height == 0:
                return txids[pos]
            left = node_hash(height - 1, pos * 2)
            right = (
                node_hash(height - 1, pos * 2 + 1)
                if pos * 2 + 1 < _tree_width(len(txids), height - 1)
                else left
            )
            return _pair(left, right)

        def traverse(height: int, pos: int) -> None:
            start = pos << height
            end = min((pos + 1) << height, len(txids))
            parent_of_match = any(matches[start:end])
            tree.bits.append(parent_of_match)
            if height == 0 or not parent_of_match:
                tree.hashes.append(node_hash(height, pos))
                return
            traverse(height - 1, pos * 2)
            if pos * 2 + 1 < _tree_width(len(txids), height - 1):
                traverse(height - 1, pos * 2 + 1)

        traverse(_tree_height(len(txids)), 0)
        return tree

    def extract_matches(self) -> tuple[bytes, list[bytes]]:
        """Recompute the root and list the matched txids; DecodeError if malformed."""
        if self.n_tx == 0 or len(self.hashes) > self.n_tx or len(self.bits) < len(self.hashes):
            raise DecodeError("malformed partial merkle tree")
        matched: list[bytes] = []
        state = {"bit": 0, "hash": 0}

        def walk(height: int, pos: int) -> bytes:
            if state["bit"] >= len(self.bits):
                raise DecodeError("partial merkle tree ran out of bits")
            parent_of_match = self.bits[state["bit"]]
            state["bit"] += 1
            if height == 0 or not parent_of_match:
                if state["hash"] >= len(self.hashes):
                    raise DecodeError("partial merkle tree ran out of hashes")
                h = self.hashes[state["hash"]]
                state["hash"] += 1
                if height == 0 and parent_of_match:
                    matched.append(h)
                return h
            left = walk(height - 1, pos * 2)
            if pos * 2 + 1 < _tree_width(self.n_tx, height - 1):
                right = walk(height - 1, pos * 2 + 1)
                if right == left:
                    raise DecodeError("partial merkle tree repeats a hash")
            else:
                right = left
            return _pair(left, right)

        root = walk(_tree_height(self.n_tx), 0)
        if (state["bit"] + 7) // 8 != (len(self.bits) + 7) // 8 or state["hash"] != len(
            self.hashes
        ):
            raise DecodeError("partial merkle tree has unused data")
        return root, matched

    def write(self, w: ByteWriter) -> None:
        w.u32(self.n_tx)
        w.compact_size(len(self.hashes))
        for h in self.hashes:
            w.write(h)
        packed = bytearray((len(self.bits) + 7) // 8)
        for i, bit in enumerate(self.bits):
            if bit:
                packed[i // 8] |= 1 << (i % 8)
        w.var_bytes(bytes(packed))

    @classmethod
    def read(cls, r: ByteReader) -> PartialMerkleTree:
        n_tx = r.u32()
        hashes = [r.read(32) for _ in range(r.count(32))]
        packed = r.var_bytes()
        bits = [bool(packed[i // 8] & (1 << (i % 8))) for i in range(len(packed) * 8)]
        return cls(n_tx, hashes, bits)
