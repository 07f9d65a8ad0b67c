"""The getbenchmarks result, in the shape fluxbenchd answers and FluxOS reads (§4.4).

Network figures: this bench cannot reach the internet, so it never measures download,
upload or ping. When the operator states them they are reported as numbers; otherwise the
three keys are *absent* and listed in `unmeasured`. Absent, not 0 or null: FluxOS only
copies these keys into its host info (`fluxNodeService.getHostInfo`), where an absent key
stays absent — as with `eps_singlethread` on older benches — while 0 would claim a dead
link and null would reach typed clients that expect a number.
"""

from __future__ import annotations

from typing import Any

from fluxos.bench.settings import BENCH_VERSION, BenchSettings
from fluxos.bench.store import Measurements
from fluxos.bench.tiers import STATUS_RUNNING, TierDecision

NETWORK_KEYS = ("download_speed", "upload_speed", "ping")


def benchmarks_result(
    settings: BenchSettings, measurements: Measurements, decision: TierDecision
) -> dict[str, Any]:
    """getbenchmarks for a finished run."""
    ssd = measurements.is_ssd(settings.disk_kind)
    size = measurements.disk_size_gb
    result: dict[str, Any] = {
        "status": decision.status,
        "time": measurements.time,
        "ipaddress": settings.socket_address,
        "real_cores": measurements.real_cores,
        "cores": measurements.threads,
        "ram": measurements.ram_gb,
        "ssd": size if ssd else 0.0,
        "hdd": 0.0 if ssd else size,
        "totalstorage": size,
        "disksinfo": [
            {
                "disk": measurements.disk_device,
                "size": size,
                "writespeed": measurements.write_mb_s,
                "type": "ssd" if ssd else "hdd",
            }
        ],
        "ddwrite": measurements.write_mb_s,
        # fluxNodeService reads these two names for an app's host info.
        "disk": size,
        "diskwritespeed": measurements.write_mb_s,
        "eps": measurements.eps,
        "eps_singlethread": measurements.eps_singlethread,
        "architecture": measurements.architecture,
        "thunder": False,
        "systemsecure": False,
        "bench_version": BENCH_VERSION,
    }
    result.update(_network(settings))
    if decision.error and not decision.assumed:
        result["error"] = decision.error
    if decision.assumed:
        result["tier_assumed"] = True
        result["measured_status"] = (
            decision.measured_tier.name if decision.measured_tier else "failed"
        )
        result["note"] = decision.note
    return result


def running_result(settings: BenchSettings, started: int) -> dict[str, Any]:
    """getbenchmarks before the first run has finished: only what needs no measuring."""
    result: dict[str, Any] = {
        "status": STATUS_RUNNING,
        "time": started,
        "ipaddress": settings.socket_address,
        "bench_version": BENCH_VERSION,
    }
    result.update(_network(settings))
    return result


def failed_result(settings: BenchSettings, when: int, reason: str) -> dict[str, Any]:
    """getbenchmarks when measuring itself failed (a probe raised)."""
    return {
        "status": "failed",
        "time": when,
        "ipaddress": settings.socket_address,
        "bench_version": BENCH_VERSION,
        "error": reason,
    }


def _network(settings: BenchSettings) -> dict[str, Any]:
    figures = {
        "download_speed": settings.network.download_mbit,
        "upload_speed": settings.network.upload_mbit,
        "ping": settings.network.ping_ms,
    }
    out: dict[str, Any] = {k: v for k, v in figures.items() if v is not None}
    missing = [k for k in NETWORK_KEYS if k not in out]
    if missing:
        out["unmeasured"] = missing
    return out
