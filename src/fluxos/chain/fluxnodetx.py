"""The payload of fluxnode start (type 2) and confirm (type 4) transactions, versions 5 and 6.

Wire layout from fluxd's `CTransaction::SerializationOp`. Signatures are left out of the
hash serialization (SER_GETHASH), so a txid commits to everything but `sig` and
`benchmark_sig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fluxos.chain.outpoint import OutPoint
from fluxos.chain.serialization import ByteReader, ByteWriter, DecodeError

START_TX_TYPE = 2
CONFIRM_TX_TYPE = 4

# nFluxTxVersion of v6 start txs: legacy exact values, or bit flags after PON
FLUX_TX_NORMAL = 1
FLUX_TX_P2SH = 2
FLUX_TX_NORMAL_BIT = 0x01
FLUX_TX_P2SH_BIT = 0x02
FLUX_TX_DELEGATES_BIT = 0x0100

TIER_NAMES = {1: "CUMULUS", 2: "NIMBUS", 3: "STRATUS"}


def tier_name(tier: int) -> str:
    """fluxd's TierToString."""
    return TIER_NAMES.get(tier, "NONE")


@dataclass(slots=True)
class Delegates:
    """Optional delegate block of a v6 start tx (version, type, starting keys)."""

    version: int = 1
    type: int = 0
    keys: list[bytes] = field(default_factory=list)

    def write(self, w: ByteWriter) -> None:
        w.i8(self.version)
        w.i8(self.type)
        if self.version == 1 and self.type == 1:
            w.compact_size(len(self.keys))
            for key in self.keys:
                w.var_bytes(key)

    @classmethod
    def read(cls, r: ByteReader) -> Delegates:
        d = cls(version=r.i8(), type=r.i8())
        if d.version == 1 and d.type == 1:
            d.keys = [r.var_bytes() for _ in range(r.count())]
        return d


@dataclass(slots=True)
class FluxnodeTx:
    """Fields of a fluxnode transaction; which are meaningful depends on `type`."""

    type: int
    collateral: OutPoint
    sig_time: int = 0
    sig: bytes = b""
    # start
    collateral_pubkey: bytes = b""
    pubkey: bytes = b""
    flux_tx_version: int = 0  # v6 only
    redeem_script: bytes = b""  # v6 P2SH only
    using_delegates: bool = False
    delegates: Delegates | None = None
    # confirm
    benchmark_tier: int = 0
    benchmark_sig_time: int = 0
    update_type: int = 0
    ip: str = ""
    benchmark_sig: bytes = b""

    @property
    def is_p2sh(self) -> bool:
        v = self.flux_tx_version
        return v == FLUX_TX_P2SH or bool(v & FLUX_TX_P2SH_BIT)

    @property
    def has_delegates_feature(self) -> bool:
        return bool(self.flux_tx_version & FLUX_TX_DELEGATES_BIT)

    def _write_start_normal(self, w: ByteWriter, for_hash: bool) -> None:
        self.collateral.write(w)
        w.var_bytes(self.collateral_pubkey)
        w.var_bytes(self.pubkey)
        w.u32(self.sig_time)
        if not for_hash:
            w.var_bytes(self.sig)

    def _write_confirm(self, w: ByteWriter, for_hash: bool) -> None:
        self.collateral.write(w)
        w.u32(self.sig_time)
        w.i8(self.benchmark_tier)
        w.u32(self.benchmark_sig_time)
        w.i8(self.update_type)
        w.var_bytes(self.ip.encode())
        if not for_hash:
            w.var_bytes(self.sig)
            w.var_bytes(self.benchmark_sig)

    def write(self, w: ByteWriter, version: int, for_hash: bool = False) -> None:
        w.i8(self.type)
        if self.type == CONFIRM_TX_TYPE:
            self._write_confirm(w, for_hash)
        elif self.type == START_TX_TYPE and version == 5:
            self._write_start_normal(w, for_hash)
        elif self.type == START_TX_TYPE:
            w.i32(self.flux_tx_version)
            if self.is_p2sh:
                self.collateral.write(w)
                w.var_bytes(self.pubkey)
                w.var_bytes(self.redeem_script)
                w.u32(self.sig_time)
                if not for_hash:
                    w.var_bytes(self.sig)
            else:
                self._write_start_normal(w, for_hash)
            if self.has_delegates_feature:
                w.u8(1 if self.using_delegates else 0)
                if self.using_delegates:
                    (self.delegates or Delegates()).write(w)

    @classmethod
    def read(cls, r: ByteReader, version: int) -> FluxnodeTx:
        kind = r.i8()
        if kind == CONFIRM_TX_TYPE:
            tx = cls(kind, OutPoint.read(r), sig_time=r.u32())
            tx.benchmark_tier = r.i8()
            tx.benchmark_sig_time = r.u32()
            tx.update_type = r.i8()
            try:
                tx.ip = r.var_bytes().decode()
            except UnicodeDecodeError as exc:
                raise DecodeError("fluxnode ip is not UTF-8") from exc
            tx.sig = r.var_bytes()
            tx.benchmark_sig = r.var_bytes()
            return tx
        if kind != START_TX_TYPE:
            raise DecodeError(f"unknown fluxnode transaction type {kind}")
        flux_version = r.i32() if version == 6 else 0
        if version == 6:
            p2sh = flux_version == FLUX_TX_P2SH or bool(flux_version & FLUX_TX_P2SH_BIT)
            normal = flux_version == FLUX_TX_NORMAL or bool(flux_version & FLUX_TX_NORMAL_BIT)
            if not (p2sh or normal):
                raise DecodeError(f"unknown fluxnode tx version {flux_version}")
        else:
            p2sh = False
        collateral = OutPoint.read(r)
        tx = cls(kind, collateral, flux_tx_version=flux_version)
        if p2sh:
            tx.pubkey = r.var_bytes()
            tx.redeem_script = r.var_bytes()
        else:
            tx.collateral_pubkey = r.var_bytes()
            tx.pubkey = r.var_bytes()
        tx.sig_time = r.u32()
        tx.sig = r.var_bytes()
        if version == 6 and tx.has_delegates_feature:
            tx.using_delegates = r.u8() != 0
            if tx.using_delegates:
                tx.delegates = Delegates.read(r)
        return tx
