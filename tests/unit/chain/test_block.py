"""Block header layout, hashing, merkle roots and proofs."""

from __future__ import annotations

import hashlib

from fluxos.chain.block import PON_VERSION, Block, BlockHeader
from fluxos.chain.merkle import PartialMerkleTree, merkle_root
from fluxos.chain.outpoint import OutPoint
from fluxos.chain.serialization import ByteReader, ByteWriter
from fluxos.chain.transaction import Transaction, TxIn, TxOut


def _h(i: int) -> bytes:
    return hashlib.sha256(bytes([i])).digest()


def test_merkle_root_duplicates_odd_levels() -> None:
    a, b, c = _h(1), _h(2), _h(3)
    pair = lambda x, y: hashlib.sha256(hashlib.sha256(x + y).digest()).digest()  # noqa: E731
    assert merkle_root([a]) == a
    assert merkle_root([a, b, c]) == pair(pair(a, b), pair(c, c))


def test_partial_merkle_tree_proves_chosen_txids() -> None:
    txids = [_h(i) for i in range(7)]
    matches = [i in (2, 5) for i in range(7)]
    tree = PartialMerkleTree.build(txids, matches)
    w = ByteWriter()
    tree.write(w)
    again = PartialMerkleTree.read(ByteReader(w.getvalue()))
    root, found = again.extract_matches()
    assert root == merkle_root(txids)
    assert found == [txids[2], txids[5]]


def test_pow_and_pon_headers_round_trip_and_pon_hash_skips_signature() -> None:
    coinbase = Transaction(
        vin=[TxIn(OutPoint(bytes(32), 0xFFFFFFFF), b"\x03\x01\x02\x03")], vout=[TxOut(5, b"\x51")]
    )
    header = BlockHeader(prev_hash=_h(9), time=1_700_000_000, bits=0x1F07FFFF, solution=b"\x00" * 3)
    block = Block(header, [coinbase])
    header.merkle_root = block.compute_merkle_root()
    assert Block.from_bytes(block.serialize()) == block
    assert len(header.serialize()) == 4 + 32 * 3 + 4 + 4 + 32 + 1 + 3
    pon = BlockHeader(version=PON_VERSION, collateral=OutPoint(_h(4), 1), block_sig=b"sig")
    before = pon.hash()
    pon.block_sig = b"other"
    assert pon.hash() == before
    assert BlockHeader.read(ByteReader(pon.serialize())) == pon
