"""signzelnodetransaction: fluxd's benchmark message, our signature, and the error paths."""

import base64
from pathlib import Path

import pytest

from fluxos.bench.signing import (
    SigningState,
    benchmark_message,
    benchmark_signer_key,
    load_bench_key,
    parse_confirm_tx,
    sign_confirm_tx,
)
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, START_TX_TYPE, FluxnodeTx
from fluxos.chain.outpoint import OutPoint
from fluxos.chain.transaction import Transaction, TxOut
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.signed_message import ZELCASH_MAGIC, sign_message
from fluxos.errors import ConfigError
from fluxos.jsonrpc import RpcError

# The signed confirm transaction of the seed's "Sign FluxNode transaction" sample
# (FluxOS API 6.6.1), produced by the real fluxbenchd in May 2020.
SEED_SIGNED_CONFIRM = (
    "0500000004566e906c6df24b00ca710cecbbea166a29b9098456bed212207fea66f433ba4500000000ba33bd5e"
    "01182ebd5e010f3131362e3230332e3233372e323530411b27b3e254a9f3248d88039a0f062e0d634e130bd34a"
    "9e4a1cb27d7aa6ce975cee251be9af6864a1a4a9e9d5fc2b28a07af8bab36a73f912c59ef844a69fa03f5f411c"
    "7f47ba609b2c0eb91268b446b31899ce66f90fa1375aab29692f1b252a53a9883120e10c646292486365608dc8"
    "06c43e2d49b66afdd150a6a7f60b6b2392a83b"
)
# fluxd chainparams.cpp, mainnet vecBenchmarkingPublicKeys[0] (valid from time 0 until
# April 2021), the key that must have signed a 2020 benchmark.
FLUXD_MAINNET_BENCH_KEY_0 = (
    "042e79d7dd1483996157df6b16c831be2b14b31c69944ea2a585c63b5101af1f95"
    "17ba392cee5b1f45a62e9d936488429374535a2f76870bfa8eea6667b13eb39e"
)
COMPLETE = SigningState(status="complete", tier=1, ip="203.0.113.7")


def test_the_seed_sample_verifies_against_fluxds_benchmark_key() -> None:
    tx = parse_confirm_tx(SEED_SIGNED_CONFIRM)
    payload = tx.fluxnode
    assert payload is not None
    assert (payload.benchmark_tier, payload.benchmark_sig_time) == (1, 1589456408)
    assert payload.ip == "116.203.237.250"
    assert benchmark_message(payload).endswith(b"11589456408116.203.237.250")
    assert benchmark_signer_key(payload).hex() == FLUXD_MAINNET_BENCH_KEY_0


def unsigned_confirm(version: int = 5, ip: str = "") -> tuple[Transaction, PrivateKey]:
    """A confirm tx as fluxd hands it over: node-signed, benchmark fields empty."""
    node_key = PrivateKey.from_secret(bytes(range(1, 33)))
    collateral = OutPoint(bytes.fromhex("ab" * 32), 1)
    payload = FluxnodeTx(CONFIRM_TX_TYPE, collateral, sig_time=1_700_000_000, update_type=1)
    payload.ip = ip
    node_message = f"{collateral.short()}{collateral.n}{payload.update_type}{payload.sig_time}"
    payload.sig = base64.b64decode(sign_message(node_message, node_key, ZELCASH_MAGIC))
    tx = Transaction(version=version, overwintered=False, version_group_id=0, fluxnode=payload)
    return tx, node_key


@pytest.mark.parametrize("version", [5, 6])
def test_signing_fills_the_benchmark_fields_and_verifies(version: int) -> None:
    tx, _node_key = unsigned_confirm(version)
    bench_key = PrivateKey.generate(compressed=False)
    reply = sign_confirm_tx(
        parse_confirm_tx(tx.serialize().hex()), bench_key, COMPLETE, 1_700_000_100
    )
    assert reply["status"] == "complete" and reply["tier"] == "CUMULUS"
    signed = parse_confirm_tx(reply["hex"])
    payload = signed.fluxnode
    assert payload is not None and tx.fluxnode is not None
    assert signed.version == version
    assert (payload.benchmark_tier, payload.benchmark_sig_time) == (1, 1_700_000_100)
    assert payload.ip == "203.0.113.7"
    # what fluxd signed stays as it was
    assert payload.sig == tx.fluxnode.sig
    assert (payload.collateral, payload.sig_time, payload.update_type) == (
        tx.fluxnode.collateral,
        tx.fluxnode.sig_time,
        tx.fluxnode.update_type,
    )
    assert len(payload.benchmark_sig) == 65
    assert benchmark_signer_key(payload) == bench_key.public_key


def test_the_tx_ip_is_kept_when_the_bench_knows_none() -> None:
    tx, _ = unsigned_confirm(ip="198.51.100.9:16137")
    state = SigningState(status="complete", tier=2, ip="")
    reply = sign_confirm_tx(tx, PrivateKey.generate(), state, 1)
    payload = parse_confirm_tx(reply["hex"]).fluxnode
    assert payload is not None and payload.ip == "198.51.100.9:16137"
    assert reply["tier"] == "NIMBUS"


def test_without_any_ip_the_bench_refuses() -> None:
    tx, _ = unsigned_confirm()
    reply = sign_confirm_tx(tx, PrivateKey.generate(), SigningState("complete", 1, ""), 1)
    assert reply["status"] == "failed" and "public IP unknown" in reply["error"]


def test_no_tier_yet_answers_the_state_fluxd_reports() -> None:
    tx, _ = unsigned_confirm()
    running = SigningState(status="running", error="benchmark is still running")
    assert sign_confirm_tx(tx, PrivateKey.generate(), running, 1) == {
        "status": "running",
        "error": "benchmark is still running",
    }
    failed = SigningState(status="failed", error="below CUMULUS minimum: threads 2 < 4")
    assert sign_confirm_tx(tx, PrivateKey.generate(), failed, 1)["status"] == "failed"


@pytest.mark.parametrize(
    ("hexstring", "code", "message"),
    [
        (42, -8, "hexstring must be a string of hex, got int"),
        ("", -8, "hexstring is empty"),
        ("abc", -22, "TX decode failed: hexstring must be an even number of hex digits"),
        ("zz00", -22, "TX decode failed: hexstring must be an even number of hex digits"),
        ("0500000004", -22, "TX decode failed"),
    ],
)
def test_bad_hex_gets_fluxd_style_errors(hexstring: object, code: int, message: str) -> None:
    with pytest.raises(RpcError) as err:
        parse_confirm_tx(hexstring)
    assert err.value.code == code
    assert err.value.message.startswith(message)


def test_only_fluxnode_confirm_transactions_are_signed() -> None:
    normal = Transaction(version=1, overwintered=False, version_group_id=0)
    normal.vout.append(TxOut(100, b"\x51"))
    with pytest.raises(RpcError, match=r"fluxnode transaction \(version 5 or 6\), got version 1"):
        parse_confirm_tx(normal.serialize().hex())
    start = FluxnodeTx(START_TX_TYPE, OutPoint(bytes(32), 0), sig_time=1)
    start.collateral_pubkey = b"\x02" + bytes(32)
    start.pubkey = b"\x03" + bytes(32)
    start_tx = Transaction(version=5, overwintered=False, version_group_id=0, fluxnode=start)
    with pytest.raises(RpcError) as err:
        parse_confirm_tx(start_tx.serialize().hex())
    assert err.value.code == -8
    assert "confirm transaction (type 4), got type 2" in err.value.message


def test_bench_key_from_wif_or_generated_once(tmp_path: Path) -> None:
    node_key = PrivateKey.generate(compressed=True)
    from_conf = load_bench_key(tmp_path / "bench.key", node_key.to_wif())
    assert from_conf.public_key == node_key.public_key
    assert not (tmp_path / "bench.key").exists()

    generated = load_bench_key(tmp_path / "bench.key")
    assert not generated.compressed  # fluxd's benchmark keys are uncompressed
    assert (tmp_path / "bench.key").stat().st_mode & 0o777 == 0o600
    assert load_bench_key(tmp_path / "bench.key").public_key == generated.public_key


def test_bad_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zelnodeprivkey is not a valid WIF key"):
        load_bench_key(tmp_path / "bench.key", "not-a-key")
    (tmp_path / "bench.key").write_text("garbage\n")
    with pytest.raises(ConfigError, match=r"bench key file .* is not a valid WIF key"):
        load_bench_key(tmp_path / "bench.key")
