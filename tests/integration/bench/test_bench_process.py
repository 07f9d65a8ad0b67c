"""`python -m fluxos.bench` as a real process: every RPC over HTTP, restart, stop, signals."""

import base64
import signal
from collections.abc import Callable

import psutil
import pytest
from tests.integration.bench.bench_harness import BenchProcess, free_port, wait_until

from fluxos.bench.signing import benchmark_signer_key, parse_confirm_tx
from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, FluxnodeTx
from fluxos.chain.outpoint import OutPoint
from fluxos.chain.transaction import Transaction
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.signed_message import ZELCASH_MAGIC, sign_message
from fluxos.jsonrpc import RpcError

Start = Callable[..., BenchProcess]


def confirm_tx_hex(node_key: PrivateKey) -> str:
    """A v6 confirm transaction as fluxd passes it: node-signed, benchmark fields empty."""
    collateral = OutPoint(bytes.fromhex("5c" * 32), 0)
    payload = FluxnodeTx(CONFIRM_TX_TYPE, collateral, sig_time=1_750_000_000, update_type=0)
    message = f"{collateral.short()}{collateral.n}{payload.update_type}{payload.sig_time}"
    payload.sig = base64.b64decode(sign_message(message, node_key, ZELCASH_MAGIC))
    tx = Transaction(version=6, overwintered=False, version_group_id=0, fluxnode=payload)
    return tx.serialize().hex()


async def test_every_rpc_restart_reuse_and_stop(bench_factory: Start, flux_api: int) -> None:
    key = PrivateKey.generate(compressed=False)
    bench = bench_factory(
        "--assume-tier", "cumulus", "--ip", "127.0.0.2", "--api-port", str(flux_api),
        "--download-speed", "250",
        FLUXBENCH_ZELNODEPRIVKEY=key.to_wif(),
    )  # fmt: skip
    await wait_until(bench.measured, what="the first benchmark")

    # wrong credentials: HTTP 401, surfaced like upstream's client does
    async with bench.client(password="wrong") as rpc:
        with pytest.raises(RpcError, match="401"):
            await rpc.call("getbenchmarks")
    async with bench.client(user="zelbenchuser", password="zelbenchpassword") as rpc:
        with pytest.raises(RpcError, match="401"):
            await rpc.call("getstatus")

    result = await bench.call("getbenchmarks")
    assert result["status"] == "CUMULUS" and result["tier_assumed"] is True
    assert result["note"].startswith("tier CUMULUS assumed by configuration; measured: ")
    assert result["ipaddress"] == f"127.0.0.2:{flux_api}"
    assert result["cores"] == psutil.cpu_count() and result["real_cores"] >= 1
    assert result["ram"] > 0 and result["totalstorage"] > 0 and result["ddwrite"] > 0
    assert result["eps"] > 0 and result["eps_singlethread"] > 0
    assert result["download_speed"] == 250
    assert result["unmeasured"] == ["upload_speed", "ping"]
    first_time = result["time"]

    assert await bench.call("getstatus") == {
        "status": "online",
        "benchmarking": "CUMULUS",
        "flux": "connected",
    }
    assert await bench.call("getinfo") == {"version": "6.3.1", "rpcport": bench.port}
    assert await bench.call("getpublicip") == "127.0.0.2"
    assert (await bench.call("help")).startswith("== Benchmarks ==\n")
    with pytest.raises(RpcError) as err:
        await bench.call("getblockcount")
    assert err.value.code == -32601

    for method in ("signzelnodetransaction", "signfluxnodetransaction"):
        reply = await bench.call(method, confirm_tx_hex(PrivateKey.generate()))
        assert reply["status"] == "complete" and reply["tier"] == "CUMULUS"
        payload = parse_confirm_tx(reply["hex"]).fluxnode
        assert payload is not None
        assert payload.benchmark_tier == 1 and payload.ip == f"127.0.0.2:{flux_api}"
        assert benchmark_signer_key(payload) == key.public_key
    with pytest.raises(RpcError) as err:
        await bench.call("signzelnodetransaction", "05zz")
    assert err.value.code == -22 and "hex digits" in err.value.message

    assert await bench.call("stop") == "Fluxbench server stopping"
    assert bench.wait_exit() == 0

    # same data dir, new process: the stored benchmark is served, not re-measured
    closed = free_port()
    again = bench_factory(
        "--assume-tier", "cumulus", "--ip", "127.0.0.2", "--api-port", str(closed)
    )
    await wait_until(again.answering, what="the restarted bench")
    reused = await again.call("getbenchmarks")
    assert reused["time"] == first_time and reused["status"] == "CUMULUS"
    assert await again.call("getstatus") == {
        "status": "online",
        "benchmarking": "CUMULUS",
        "flux": "disconnected",
    }
    debug_log = (bench.data_dir / "debug.log").read_text()
    assert "reusing stored benchmark from" in debug_log

    # restartnodebenchmarks measures again in the background
    assert await again.call("restartnodebenchmarks") == (
        "Benchmarks will restart in the next couple minutes"
    )

    async def remeasured() -> bool:
        return bool((await again.call("getbenchmarks"))["time"] > first_time)

    await wait_until(remeasured, what="the new benchmark")
    await wait_until(again.measured, what="the re-measure to finish")

    again.proc.send_signal(signal.SIGTERM)
    assert again.wait_exit() == 0
    assert "bench stopped" in (bench.data_dir / "debug.log").read_text()


async def test_a_small_machine_without_a_forced_tier(bench_factory: Start) -> None:
    bench = bench_factory()
    await wait_until(bench.measured, what="the benchmark")
    result = await bench.call("getbenchmarks")
    if result["status"] == "failed":
        assert result["error"].startswith("below CUMULUS minimum: ")
        confirm = await bench.call("signzelnodetransaction", confirm_tx_hex(PrivateKey.generate()))
        assert confirm["status"] == "failed" and confirm["error"] == result["error"]
    else:
        assert result["status"] in {"CUMULUS", "NIMBUS", "STRATUS"}
    assert "tier_assumed" not in result
    bench.proc.send_signal(signal.SIGINT)
    assert bench.wait_exit() == 0


async def test_a_taken_port_is_a_clear_error(bench_factory: Start) -> None:
    first = bench_factory("--assume-tier", "cumulus")
    await wait_until(first.answering, what="the first bench")
    second = bench_factory(
        "--assume-tier", "cumulus", data_dir=first.data_dir.parent / "other", port=first.port
    )
    assert second.wait_exit() == 2
    assert f"rpc_port: cannot listen on 127.0.0.1:{first.port}" in second.output()


async def test_a_bad_tier_is_refused(bench_factory: Start) -> None:
    bench = bench_factory("--assume-tier", "gold", port=free_port())
    assert bench.wait_exit() == 2
    assert "assume_tier must be one of cumulus, nimbus, stratus, got 'gold'" in bench.output()
