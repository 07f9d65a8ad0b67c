"""Shared pieces of the benchmarks: wrk runs, process start-up timing, medians."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
NODE_MODULES_DIR = BENCH_DIR / ".node"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0


def ensure_wrk() -> str:
    """Path of Debian's wrk (`make bench` installs it: group `bench` of setup/packages)."""
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: bash setup/prepare bench (or apt-get install wrk)")
    return found


def run_wrk(
    url: str,
    connections: int = 32,
    seconds: float = 8,
    threads: int = 1,
    script: Path | None = None,
) -> WrkResult:
    """One wrk run; `script` is a Lua file shaping the requests (wrk's -s)."""
    extra = ["-s", str(script)] if script is not None else []
    output = subprocess.run(
        [
            ensure_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    count = int(errors.group(1)) if errors else 0
    if socket_errors:
        count += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    done = re.search(r"(\d+) requests in", output)
    requests = int(done.group(1)) if done else 0
    return WrkResult(rps, _to_ms(latency["50"]), _to_ms(latency["99"]), count, requests)


def _to_ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wait_for(url: str, timeout: float = 30.0) -> float:
    """Seconds until `url` answers 200."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def npm_install(package_dir: Path) -> Path | None:
    """Install a bench's npm dependencies under bench/.node (`npm ci` from the committed
    lockfile, again whenever the lockfile changes); None when npm is unavailable."""
    if not shutil.which("npm") or not shutil.which("node"):
        return None
    target = NODE_MODULES_DIR / package_dir.name
    target.mkdir(parents=True, exist_ok=True)
    lockfile = package_dir / "package-lock.json"
    installed_lock = target / "node_modules" / ".fluxos-lock.json"
    wanted = lockfile.read_bytes() if lockfile.exists() else None
    if wanted is not None and installed_lock.exists() and installed_lock.read_bytes() == wanted:
        return target
    if wanted is None and (target / "node_modules").exists():
        return target
    shutil.copy(package_dir / "package.json", target / "package.json")
    command = ["npm", "install"]
    if wanted is not None:
        shutil.copy(lockfile, target / "package-lock.json")
        command = ["npm", "ci"]
    result = subprocess.run(
        [*command, "--silent", "--no-audit", "--no-fund"],
        cwd=target,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(f"{' '.join(command)} failed: {result.stderr.strip()[:300]}")
        return None
    if wanted is not None:
        installed_lock.write_bytes(wanted)
    return target


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def start_node(
    data_dir: Path, host: str, port: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`fluxos start` on host:port with its output discarded; `env` is the whole environment
    (console logging is always off)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "fluxos", "start", "--data-dir", str(data_dir)]
    command += ["--host", host, "--api-port", str(port)]
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", **(env or {}), "FLUXOS_LOG_CONSOLE": "false"},
    )
