"""The bench method table through the JSON-RPC server (in-process ASGI transport)."""

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support.servers import serving_on_this_loop

from fluxos.bench.daemon import RESTART_REPLY, STOP_REPLY, BenchRpc
from fluxos.bench.fluxapi import HttpFluxApiProbe
from fluxos.bench.measure import MeasureProgress
from fluxos.bench.service import Benchmarker
from fluxos.bench.settings import BenchSettings
from fluxos.bench.store import Measurements, MeasurementStore
from fluxos.clock import Clock, ManualClock
from fluxos.crypto.keys import PrivateKey
from fluxos.jsonrpc import JsonRpcClient, RpcError

STORED = Measurements(
    time=1_700_000_000,
    real_cores=2,
    threads=4,
    ram_gb=7.7,
    architecture="amd64",
    disk_device="vda",
    disk_size_gb=240.0,
    disk_rotational=False,
    write_mb_s=400.0,
    eps=300.0,
    eps_singlethread=80.0,
    cpu_workers=4,
    cpu_seconds=4.0,
    cpu_max_prime=10_000,
)


Fixture = tuple[JsonRpcClient, "Stops", Benchmarker]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def remeasure(settings: BenchSettings, clock: Clock, progress: MeasureProgress) -> Measurements:
    """A cheap stand-in for the 10-second run: the same figures, measured now."""
    progress.phase("specs", "specs")
    return replace(STORED, time=int(clock.time()))


class Stops:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


@pytest.fixture
async def rpc(tmp_path: Path) -> AsyncIterator[Fixture]:
    settings = BenchSettings(data_dir=tmp_path, rpc_port=16224, public_ip="198.51.100.4")
    store = MeasurementStore(settings.results_path)
    store.save(STORED)
    clock = ManualClock(STORED.time + 60)
    bench = Benchmarker(settings, store, clock, measure=remeasure)
    assert bench.load_stored()
    stops = Stops()
    probe = HttpFluxApiProbe("127.0.0.1", closed_port(), timeout=1)
    daemon = BenchRpc(bench, PrivateKey.generate(False), probe, clock, on_stop=stops)
    async with (
        serving_on_this_loop(daemon.server().app) as url,
        JsonRpcClient(url + "/", "fluxbenchuser", "fluxbenchpassword") as client,
    ):
        yield client, stops, bench
    await bench.aclose()


async def test_status_info_and_results(rpc: Fixture) -> None:
    client, _, _ = rpc
    assert await client.call("getstatus") == {
        "status": "online",
        "benchmarking": "CUMULUS",
        "flux": "disconnected",
    }
    assert await client.call("getstatus", True) == await client.call("getstatus")
    assert await client.call("getinfo") == {"version": "6.3.1", "rpcport": 16224}
    assert await client.call("getpublicip") == "198.51.100.4"
    result = await client.call("getbenchmarks")
    assert result["status"] == "CUMULUS" and result["ipaddress"] == "198.51.100.4"


async def test_help_lists_sections_and_single_commands(rpc: Fixture) -> None:
    client, _, _ = rpc
    text = await client.call("help")
    assert text.startswith("== Benchmarks ==\ngetstatus (full_check)\nrestartnodebenchmarks\n")
    assert '\n\n== Control ==\nhelp ( "command" )\nstop\n\n== Fluxnode ==\n' in text
    assert await client.call("help", "signzelnodetransaction") == (
        'signzelnodetransaction "hexstring"'
    )
    assert await client.call("help", "nope") == "help: unknown command: nope"


async def test_unknown_method_and_wrong_arity(rpc: Fixture) -> None:
    client, _, _ = rpc
    for method in ("startmultiportbench", "getblockcount", "decryptmessage"):
        with pytest.raises(RpcError) as err:
            await client.call(method)
        assert err.value.code == -32601
    with pytest.raises(RpcError) as err:
        await client.call("signzelnodetransaction")
    assert err.value.code == -1
    assert err.value.message.startswith('signzelnodetransaction "hexstring"')
    with pytest.raises(RpcError) as err:
        await client.call("getbenchmarks", 1)
    assert err.value.message.startswith("getbenchmarks")


async def test_stop_answers_then_asks_to_stop(rpc: Fixture) -> None:
    client, stops, _ = rpc
    assert await client.call("stop") == STOP_REPLY
    assert stops.calls == 1


async def test_restart_measures_again_in_the_background(rpc: Fixture) -> None:
    client, _, bench = rpc
    assert bench.measurements is not None and bench.measurements.time == STORED.time
    assert await client.call("restartnodebenchmarks") == RESTART_REPLY
    await bench.wait()
    assert bench.measurements.time == STORED.time + 60
