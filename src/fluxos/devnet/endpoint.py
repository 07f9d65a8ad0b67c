"""One simulated fluxd: its RPC identity, wallet, fluxnode key and outpoint, flux.conf.

An endpoint configured as a fluxnode behaves like fluxd's ActiveFluxnode: once its start
transaction is mined it confirms itself, and it re-confirms before the confirmation
expires, signing the benchmark part with the devnet's benchmark key (the devnet plays
fluxbenchd, as `-testnetbenchbypass` does for fluxd's test networks).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from pathlib import Path

from fluxos.chain.fluxconf import FluxConf
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE, FluxnodeTx
from fluxos.chain.outpoint import OutPoint, hash_from_hex, hash_hex
from fluxos.chain.params import CONFIRM_UPDATE_MIN_HEIGHT
from fluxos.chain.transaction import Transaction
from fluxos.clock import Clock
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.signed_message import ZELCASH_MAGIC, sign_message
from fluxos.devnet.fluxnodes import (
    CONFIRMED,
    STARTED,
    FluxnodeRegistry,
    benchmark_message,
    confirm_message,
)
from fluxos.devnet.mempool import AlreadyInChain, Mempool
from fluxos.devnet.validation import TxRejected
from fluxos.devnet.wallet import Wallet

log = logging.getLogger(__name__)


def compact_signature(message: str | bytes, key: PrivateKey) -> bytes:
    """65-byte compact signature with fluxd's message magic, as fluxnode txs carry it."""
    return base64.b64decode(sign_message(message, key, ZELCASH_MAGIC))


@dataclass(slots=True)
class FluxnodeConfEntry:
    """One line of fluxnode.conf: alias ip:port fluxnodeprivkey collateral_txid index."""

    alias: str
    address: str
    privkey: str
    txid: str
    index: str

    def line(self) -> str:
        return f"{self.alias} {self.address} {self.privkey} {self.txid} {self.index}"


def read_fluxnode_conf(path: Path) -> list[FluxnodeConfEntry]:
    if not path.exists():
        return []
    entries: list[FluxnodeConfEntry] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 5:
            log.warning("%s:%d: expected 5 fields, got %d; line skipped", path, number, len(parts))
            continue
        entries.append(FluxnodeConfEntry(*parts))
    return entries


@dataclass
class Endpoint:
    """The per-fluxd state of the devnet."""

    index: int
    data_dir: Path
    rpc_port: int
    rpc_user: str
    rpc_password: str
    wallet: Wallet
    fluxnode_key: PrivateKey | None = None
    fluxnode_outpoint: OutPoint | None = None
    fluxnode_ip: str = ""
    banned: dict[str, int] = field(default_factory=dict)
    added_nodes: list[str] = field(default_factory=list)
    # the sigTime of this node's last confirmation: the next one is later, so it never
    # repeats a txid however fast blocks come (generate under a frozen setmocktime)
    last_confirm_sig_time: int = 0

    @property
    def conf_path(self) -> Path:
        return self.data_dir / "flux.conf"

    @property
    def fluxnode_conf_path(self) -> Path:
        return self.data_dir / "fluxnode.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}/"

    @property
    def is_fluxnode(self) -> bool:
        return self.fluxnode_key is not None

    # ------------------------------------------------------------------ flux.conf
    def load_conf(self) -> None:
        """Pick up a fluxnode identity written by an earlier run (or by hand)."""
        if not self.conf_path.exists():
            return
        conf = FluxConf.read(self.conf_path)
        wif = conf.get("zelnodeprivkey")
        txid, index = conf.get("zelnodeoutpoint"), conf.get("zelnodeindex")
        if wif:
            try:
                self.fluxnode_key = PrivateKey.from_wif(wif)
            except ValueError as exc:
                log.warning("%s: zelnodeprivkey ignored (%s)", self.conf_path, exc)
        if txid and index is not None:
            try:
                self.fluxnode_outpoint = OutPoint(hash_from_hex(txid), int(index))
            except ValueError as exc:
                log.warning("%s: zelnodeoutpoint/zelnodeindex ignored (%s)", self.conf_path, exc)
        self.fluxnode_ip = conf.get("externalip", self.fluxnode_ip) or self.fluxnode_ip

    def write_conf(self) -> None:
        """Write flux.conf with the keys a node reads (daemon.md §2.2), keeping other lines."""
        conf = FluxConf.read(self.conf_path) if self.conf_path.exists() else FluxConf()
        values = {
            "rpcuser": self.rpc_user,
            "rpcpassword": self.rpc_password,
            "rpcport": str(self.rpc_port),
            "rpcallowip": "127.0.0.1",
            "port": str(16125 + 10 * self.index),
            "server": "1",
            "txindex": "1",
            "addressindex": "1",
            "timestampindex": "1",
            "spentindex": "1",
            "insightexplorer": "1",
            "experimentalfeatures": "1",
        }
        if self.fluxnode_key is not None:
            values["zelnode"] = "1"
            values["zelnodeprivkey"] = self.fluxnode_key.to_wif()
            if self.fluxnode_ip:
                values["externalip"] = self.fluxnode_ip.split(":")[0]
        if self.fluxnode_outpoint is not None:
            values["zelnodeoutpoint"] = hash_hex(self.fluxnode_outpoint.txid)
            values["zelnodeindex"] = str(self.fluxnode_outpoint.n)
        for key, value in values.items():
            conf.set(key, value)
        conf.write(self.conf_path)

    def lock_collaterals(self) -> None:
        """Keep the wallet off fluxnode collaterals, as fluxd locks fluxnode.conf outpoints."""
        if self.fluxnode_outpoint is not None:
            self.wallet.locked.add((self.fluxnode_outpoint.txid, self.fluxnode_outpoint.n))
        for entry in self.fluxnode_conf():
            try:
                self.wallet.locked.add((hash_from_hex(entry.txid), int(entry.index)))
            except ValueError:
                log.warning(
                    "%s: alias %s has a malformed collateral; not locked",
                    self.fluxnode_conf_path,
                    entry.alias,
                )

    def fluxnode_conf(self) -> list[FluxnodeConfEntry]:
        return read_fluxnode_conf(self.fluxnode_conf_path)

    def add_fluxnode_conf(self, entry: FluxnodeConfEntry) -> None:
        entries = [e for e in self.fluxnode_conf() if e.alias != entry.alias] + [entry]
        self.fluxnode_conf_path.write_text(
            "".join(e.line() + "\n" for e in entries), encoding="utf-8"
        )
        self.lock_collaterals()

    # ------------------------------------------------------------------ fluxnode duties
    def build_start_tx(self, entry: FluxnodeConfEntry, now: int) -> Transaction:
        """fluxd's BuildDeterministicStartTx + SignDeterministicStartTx for a conf entry."""
        node_key = PrivateKey.from_wif(entry.privkey)
        outpoint = OutPoint(hash_from_hex(entry.txid), int(entry.index))
        found = self.wallet.coin((outpoint.txid, outpoint.n))
        if found is None:
            raise ValueError(f"Could not allocate vin {entry.txid}:{entry.index} for fluxnode")
        akey, _coin = found
        wallet_key = self.wallet.keys.get(akey)
        if wallet_key is None:
            raise ValueError(f"Could not allocate vin {entry.txid}:{entry.index} for fluxnode")
        fn = FluxnodeTx(
            START_TX_TYPE,
            outpoint,
            sig_time=now,
            collateral_pubkey=wallet_key.key.public_key,
            pubkey=node_key.public_key,
        )
        tx = Transaction(version=5, overwintered=False, version_group_id=0, fluxnode=fn)
        fn.sig = compact_signature(tx.txid_hex(), wallet_key.key)
        return tx

    def build_confirm_tx(
        self, update_type: int, tier: int, bench_key: PrivateKey, now: int
    ) -> Transaction:
        assert self.fluxnode_key is not None and self.fluxnode_outpoint is not None
        fn = FluxnodeTx(
            CONFIRM_TX_TYPE,
            self.fluxnode_outpoint,
            sig_time=now,
            benchmark_tier=tier,
            benchmark_sig_time=now,
            update_type=update_type,
            ip=self.fluxnode_ip,
        )
        fn.sig = compact_signature(
            confirm_message(fn.collateral, update_type, now), self.fluxnode_key
        )
        fn.benchmark_sig = compact_signature(benchmark_message(fn.sig, tier, now, fn.ip), bench_key)
        return Transaction(version=5, overwintered=False, version_group_id=0, fluxnode=fn)

    def fluxnode_duties(
        self, registry: FluxnodeRegistry, mempool: Mempool, bench_key: PrivateKey, clock: Clock
    ) -> None:
        """Confirm our node when its start is mined, and re-confirm it in time."""
        outpoint = self.fluxnode_outpoint
        if self.fluxnode_key is None or outpoint is None:
            return
        if (outpoint.txid, outpoint.n) in mempool.fluxnode_by_collateral:
            return
        record = registry.record(outpoint)
        if record is None or record.pubkey != self.fluxnode_key.public_key:
            return
        next_height = mempool.chain.height + 1
        if record.status == STARTED:
            update_type = 0
        elif (
            record.status == CONFIRMED
            and next_height - record.last_confirmed_height >= CONFIRM_UPDATE_MIN_HEIGHT
        ):
            update_type = 1
        else:
            return
        sig_time = max(int(clock.time()), self.last_confirm_sig_time + 1)
        tx = self.build_confirm_tx(update_type, record.tier, bench_key, sig_time)
        try:
            mempool.accept(tx)
        except (TxRejected, AlreadyInChain) as exc:
            log.warning("endpoint %d: fluxnode confirmation refused (%s)", self.index, exc)
        else:
            self.last_confirm_sig_time = sig_time
