"""Requests/s and latency of GET /flux/version and /flux/uptime under wrk (32 connections),
fluxos beside upstream's Express + apicache stack in the same run, and fluxos's cold start.

    make bench        (or: .venv/bin/python bench/api_throughput.py)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from _loadgen import BENCH_DIR, median, npm_install, run_wrk, start_node, wait_for

HOST = "127.0.0.1"
FLUXOS_PORT = 16187
EXPRESS_PORT = 16199
ROUTES = ("/flux/version", "/flux/uptime")
ROUNDS = 3


def start_fluxos(data_dir: Path) -> subprocess.Popen[bytes]:
    # the API edge alone: no embedded devnet and bench competing for the CPU
    return start_node(data_dir, HOST, FLUXOS_PORT, {"FLUXOS_DAEMON": '{"embedded": false}'})


def cold_starts(rounds: int = 5) -> list[float]:
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            process = start_fluxos(Path(tmp))
            try:
                times.append(wait_for(f"http://{HOST}:{FLUXOS_PORT}/flux/version"))
            finally:
                process.terminate()
                process.wait()
    return times


def measure(base_url: str) -> dict[str, list]:
    results: dict[str, list] = {route: [] for route in ROUTES}
    for _ in range(ROUNDS):
        for route in ROUTES:
            results[route].append(run_wrk(base_url + route))
    return results


def summarise(name: str, results: dict[str, list]) -> None:
    for route, runs in results.items():
        rps = median([r.requests_per_second for r in runs])
        p50 = median([r.p50_ms for r in runs])
        p99 = median([r.p99_ms for r in runs])
        errors = sum(r.errors for r in runs)
        print(
            f"{name:<8} {route:<15} {rps:>10,.0f} req/s   p50 {p50:6.2f} ms   "
            f"p99 {p99:6.2f} ms   errors {errors}"
        )


def main() -> None:
    print(f"wrk -t1 -c32 -d8s, median of {ROUNDS} runs per route")
    starts = cold_starts()
    print(
        f"fluxos cold start (launch → first answer): median {median(starts):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in starts)})"
    )

    with tempfile.TemporaryDirectory() as tmp:
        process = start_fluxos(Path(tmp))
        try:
            wait_for(f"http://{HOST}:{FLUXOS_PORT}/flux/version")
            fluxos = measure(f"http://{HOST}:{FLUXOS_PORT}")
        finally:
            process.terminate()
            process.wait()
    summarise("fluxos", fluxos)

    express_dir = npm_install(BENCH_DIR / "express")
    if express_dir is None or not shutil.which("node"):
        print("express: npm/node unavailable, comparison skipped")
        return
    shutil.copy(BENCH_DIR / "express" / "server.js", express_dir / "server.js")
    process = subprocess.Popen(
        ["node", "server.js", str(EXPRESS_PORT)],
        cwd=express_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://{HOST}:{EXPRESS_PORT}/flux/version")
        express = measure(f"http://{HOST}:{EXPRESS_PORT}")
    finally:
        process.terminate()
        process.wait()
    summarise("express", express)
    for route in ROUTES:
        ours = median([r.requests_per_second for r in fluxos[route]])
        theirs = median([r.requests_per_second for r in express[route]])
        print(f"ratio fluxos/express {route}: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
