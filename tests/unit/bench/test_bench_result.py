"""The getbenchmarks shape FluxOS reads (daemon.md §4.4; upstream harness stub's keys)."""

from dataclasses import replace
from pathlib import Path

import pytest

from fluxos.bench.result import benchmarks_result, failed_result, running_result
from fluxos.bench.settings import BenchSettings, NetworkFigures
from fluxos.bench.store import Measurements
from fluxos.bench.tiers import Tier, decide_tier
from fluxos.errors import BadParameter

MEASURED = Measurements(
    time=1_700_000_000,
    real_cores=4,
    threads=8,
    ram_gb=31.2,
    architecture="amd64",
    disk_device="nvme0n1",
    disk_size_gb=480.0,
    disk_rotational=False,
    write_mb_s=900.0,
    eps=700.0,
    eps_singlethread=95.0,
    cpu_workers=8,
    cpu_seconds=4.0,
    cpu_max_prime=10_000,
)
# Every key upstream's daemon-stub getbenchmarks answers with, except its stub-only
# `flux_version`/`speed`, and the network figures (absent unless configured).
STUB_KEYS = {
    "ipaddress", "cores", "ram", "ssd", "hdd", "ddwrite", "totalstorage", "disksinfo", "eps",
    "bench_version", "architecture", "thunder", "real_cores",
}  # fmt: skip


def settings(tmp_path: Path, **kw: object) -> BenchSettings:
    return BenchSettings(data_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_a_passing_machine(tmp_path: Path) -> None:
    s = settings(tmp_path, public_ip="203.0.113.5")
    result = benchmarks_result(s, MEASURED, decide_tier(MEASURED.capacity()))
    assert result.keys() >= STUB_KEYS
    assert result["status"] == "NIMBUS"
    assert result["time"] == MEASURED.time
    assert result["ipaddress"] == "203.0.113.5"
    assert (result["cores"], result["real_cores"], result["ram"]) == (8, 4, 31.2)
    assert (result["ssd"], result["hdd"], result["totalstorage"]) == (480.0, 0.0, 480.0)
    assert result["disksinfo"] == [
        {"disk": "nvme0n1", "size": 480.0, "writespeed": 900.0, "type": "ssd"}
    ]
    assert result["ddwrite"] == result["diskwritespeed"] == 900.0
    assert (result["eps"], result["eps_singlethread"]) == (700.0, 95.0)
    assert result["thunder"] is False and result["systemsecure"] is False
    assert "error" not in result and "tier_assumed" not in result


def test_network_figures_absent_unless_stated(tmp_path: Path) -> None:
    decision = decide_tier(MEASURED.capacity())
    result = benchmarks_result(settings(tmp_path), MEASURED, decision)
    assert not {"download_speed", "upload_speed", "ping"} & result.keys()
    assert result["unmeasured"] == ["download_speed", "upload_speed", "ping"]

    stated = settings(tmp_path, network=NetworkFigures(download_mbit=500.5, upload_mbit=250.0))
    result = benchmarks_result(stated, MEASURED, decision)
    assert (result["download_speed"], result["upload_speed"]) == (500.5, 250.0)
    assert result["unmeasured"] == ["ping"]


def test_ipaddress_carries_the_api_port_when_not_default(tmp_path: Path) -> None:
    assert settings(tmp_path, public_ip="10.0.0.1", api_port=16137).socket_address == (
        "10.0.0.1:16137"
    )
    assert settings(tmp_path, public_ip="10.0.0.1").socket_address == "10.0.0.1"
    assert settings(tmp_path).socket_address == ""
    with pytest.raises(BadParameter, match="public_ip must be a bare IPv4"):
        settings(tmp_path, public_ip="10.0.0.1:16137")


def test_rotational_disk_counts_as_hdd_unless_overridden(tmp_path: Path) -> None:
    spinning = replace(MEASURED, disk_rotational=True)
    decision = decide_tier(spinning.capacity())
    result = benchmarks_result(settings(tmp_path), spinning, decision)
    assert (result["ssd"], result["hdd"]) == (0.0, 480.0)
    result = benchmarks_result(settings(tmp_path, disk_kind="ssd"), spinning, decision)
    assert (result["ssd"], result["hdd"]) == (480.0, 0.0)


def test_failed_and_assumed(tmp_path: Path) -> None:
    small = replace(MEASURED, threads=2, real_cores=2, eps=140.0)
    failed = benchmarks_result(settings(tmp_path), small, decide_tier(small.capacity()))
    assert failed["status"] == "failed"
    assert failed["error"].startswith("below CUMULUS minimum: threads 2 < 4")

    assumed = decide_tier(small.capacity(), assume=Tier.CUMULUS)
    result = benchmarks_result(settings(tmp_path), small, assumed)
    assert result["status"] == "CUMULUS"
    assert result["tier_assumed"] is True and result["measured_status"] == "failed"
    assert result["note"].startswith("tier CUMULUS assumed by configuration")
    assert "error" not in result


def test_running_and_failed_runs(tmp_path: Path) -> None:
    running = running_result(settings(tmp_path, public_ip="10.0.0.1"), 123)
    assert running["status"] == "running" and running["time"] == 123
    assert running["ipaddress"] == "10.0.0.1"
    failed = failed_result(settings(tmp_path), 456, "benchmark could not complete: disk full")
    assert failed["status"] == "failed" and failed["error"].endswith("disk full")
