"""The bench's signature on fluxnode confirm transactions (`signzelnodetransaction`).

fluxd builds a confirm transaction, signs it with the fluxnode key, and hands its hex to
the bench, which fills `benchmarkTier`, `benchmarkSigTime` and `ip`, then signs

    sig (the raw bytes of the node's signature) ‖ str(tier) ‖ str(benchmarkSigTime) ‖ ip

as a Zelcash signed message (compact, 65 bytes) into `benchmarkSig`. fluxd checks it in
`CheckBenchmarkSignature` (src/fluxnode/fluxnode.cpp) against the public key that its
chain parameters list for the signature time, comparing key ids, so the compression of
the signing key matters; fluxd's keys are uncompressed, and so is a key we generate.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, FluxnodeTx, tier_name
from fluxos.chain.serialization import DecodeError
from fluxos.chain.transaction import (
    FLUXNODE_TX_UPGRADEABLE_VERSION,
    FLUXNODE_TX_VERSION,
    Transaction,
)
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.signed_message import ZELCASH_MAGIC, recover_message_key, sign_message
from fluxos.errors import ConfigError
from fluxos.jsonrpc import RpcError

log = logging.getLogger(__name__)

# fluxd's RPC error codes (src/rpc/protocol.h)
RPC_INVALID_PARAMETER = -8
RPC_DESERIALIZATION_ERROR = -22

STATUS_COMPLETE = "complete"


def benchmark_message(tx: FluxnodeTx) -> bytes:
    """The bytes fluxd's CheckBenchmarkSignature expects the bench key to have signed."""
    tail = f"{tx.benchmark_tier}{tx.benchmark_sig_time}{tx.ip}".encode()
    return tx.sig + tail


def benchmark_signer_key(tx: FluxnodeTx) -> bytes:
    """The public key that signed `tx`'s benchmarkSig, as recovered from it; ValueError if none.

    Serialised per the signature's compression flag, i.e. the form fluxd compares.
    """
    signature = base64.b64encode(tx.benchmark_sig).decode("ascii")
    pubkey, _header = recover_message_key(benchmark_message(tx), signature, ZELCASH_MAGIC)
    return pubkey


def load_bench_key(path: Path, fluxnode_key_wif: str | None = None) -> PrivateKey:
    """The bench key: `fluxnode_key_wif` when given, else the one stored at `path`.

    With neither, a new uncompressed key is generated and stored there (owner-only).
    """
    if fluxnode_key_wif:
        try:
            return PrivateKey.from_wif(fluxnode_key_wif.strip())
        except ValueError as exc:
            raise ConfigError(f"zelnodeprivkey is not a valid WIF key: {exc}") from exc
    if path.exists():
        try:
            return PrivateKey.from_wif(path.read_text().strip())
        except ValueError as exc:
            raise ConfigError(f"bench key file {path} is not a valid WIF key: {exc}") from exc
    key = PrivateKey.generate(compressed=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.to_wif() + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    log.info("generated a new bench key at %s (public key %s)", path, key.public_key.hex())
    return key


@dataclass(frozen=True)
class SigningState:
    """What the bench can sign with right now: a tier, or the reason it has none."""

    status: str  # "complete" to sign; otherwise the bench's state (running, failed)
    tier: int | None = None
    ip: str = ""
    error: str | None = None


def parse_confirm_tx(hexstring: Any) -> Transaction:
    """Decode a fluxnode confirm transaction from hex; fluxd-style RpcError otherwise."""
    if not isinstance(hexstring, str):
        raise RpcError(
            RPC_INVALID_PARAMETER,
            f"hexstring must be a string of hex, got {type(hexstring).__name__}",
        )
    text = hexstring.strip()
    if not text:
        raise RpcError(RPC_INVALID_PARAMETER, "hexstring is empty")
    if len(text) % 2 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise RpcError(
            RPC_DESERIALIZATION_ERROR,
            "TX decode failed: hexstring must be an even number of hex digits",
        )
    try:
        tx = Transaction.from_hex(text)
    except DecodeError as exc:
        raise RpcError(RPC_DESERIALIZATION_ERROR, f"TX decode failed: {exc}") from None
    if tx.version not in (FLUXNODE_TX_VERSION, FLUXNODE_TX_UPGRADEABLE_VERSION) or tx.overwintered:
        raise RpcError(
            RPC_INVALID_PARAMETER,
            f"hexstring must be a fluxnode transaction (version 5 or 6), got version {tx.version}",
        )
    assert tx.fluxnode is not None  # set for every decoded v5/v6 transaction
    if tx.fluxnode.type != CONFIRM_TX_TYPE:
        raise RpcError(
            RPC_INVALID_PARAMETER,
            f"hexstring must be a fluxnode confirm transaction (type {CONFIRM_TX_TYPE}), "
            f"got type {tx.fluxnode.type}",
        )
    return tx


def sign_confirm_tx(
    tx: Transaction, key: PrivateKey, state: SigningState, now: int
) -> dict[str, Any]:
    """fluxbenchd's answer to signzelnodetransaction for a decoded confirm tx.

    `{status: "complete", tier, hex}` once signed; otherwise `{status, error}` with the
    bench's state, which fluxd reports as "Benchmarking hasn't completed … : <status>".
    """
    payload = tx.fluxnode
    assert payload is not None
    if state.status != STATUS_COMPLETE or state.tier is None:
        return {"status": state.status, "error": state.error or "benchmark has no tier"}
    ip = state.ip or payload.ip
    if not ip:
        return {
            "status": "failed",
            "error": "public IP unknown: start the bench with the node's IP (ipaddress)",
        }
    payload.benchmark_tier = state.tier
    payload.benchmark_sig_time = now
    payload.ip = ip
    signature = sign_message(benchmark_message(payload), key, ZELCASH_MAGIC)
    payload.benchmark_sig = base64.b64decode(signature)
    log.info(
        "signed confirm tx for %s: tier %s, ip %s, benchmark time %d",
        payload.collateral.short(),
        tier_name(state.tier),
        ip,
        now,
    )
    return {"status": STATUS_COMPLETE, "tier": tier_name(state.tier), "hex": tx.serialize().hex()}
