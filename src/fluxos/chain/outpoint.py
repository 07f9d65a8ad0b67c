"""Transaction outpoints and uint256 text form (fluxd prints hashes byte-reversed)."""

from __future__ import annotations

from typing import NamedTuple

from fluxos.chain.serialization import ByteReader, ByteWriter

NULL_HASH = bytes(32)


def hash_hex(h: bytes) -> str:
    """A uint256 as fluxd prints it (byte-reversed hex)."""
    return h[::-1].hex()


def hash_from_hex(text: str) -> bytes:
    """Inverse of hash_hex; ValueError unless `text` is 64 hex characters."""
    if len(text) != 64:
        raise ValueError("hash must be 64 hex characters")
    return bytes.fromhex(text)[::-1]


class OutPoint(NamedTuple):
    """A reference to output `n` of transaction `txid` (internal byte order).

    A NamedTuple rather than a frozen dataclass: the devnet makes one per input, and tuple
    construction is several times cheaper.
    """

    txid: bytes
    n: int

    @property
    def is_null(self) -> bool:
        return self.txid == NULL_HASH and self.n == 0xFFFFFFFF

    def short(self) -> str:
        """fluxd's COutPoint::ToString: first 10 hex chars of the txid."""
        return f"COutPoint({hash_hex(self.txid)[:10]}, {self.n})"

    def full(self) -> str:
        """fluxd's COutPoint::ToFullString."""
        return f"COutPoint({hash_hex(self.txid)}, {self.n})"

    def write(self, w: ByteWriter) -> None:
        w.write(self.txid)
        w.u32(self.n)

    @classmethod
    def read(cls, r: ByteReader) -> OutPoint:
        return cls(r.read(32), r.u32())
