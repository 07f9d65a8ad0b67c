"""The daemon passthrough beside upstream's stack, in one run on one devnet with one load:
wrk, 32 connections, a random height and a new URL every request (`?n=<counter>`), so the
route cache never answers and the 150-entry block cache only now and then (~1,250 heights).

* fluxos: `/daemon/getblock/<h>/1` and `/daemon/getblockhash/<h>`;
* Express (bench/express/daemon.js: Node's http client with keep-alive, 5 calls in flight,
  the same cache sizes and envelope) serving the same two routes;
* `/daemon/getinfo` through fluxos (route cache) and getblock straight to the devnet's
  JSON-RPC, the ceiling of any passthrough.

Each round runs every case once, in turn; the figures are medians over the rounds. CPU per
call is the server process's user+system time (its children included) over the requests
answered in that run.

    .venv/bin/python bench/daemon_routes.py            # FLUXOS_BENCH_ROUNDS=5 by default
    FLUXOS_BENCH_BEFORE=<git rev> .venv/bin/python bench/daemon_routes.py

With FLUXOS_BENCH_BEFORE, a second node runs that revision's `src/` (git archive) beside
this one, and its two uncached cases and ratios join the same run: before/after figures
against the same Express anchor on the same devnet under the same load.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from _loadgen import BENCH_DIR, WrkResult, median, npm_install, run_wrk, start_node, wait_for

HOST = "127.0.0.1"
ROUNDS = int(os.environ.get("FLUXOS_BENCH_ROUNDS", "5"))
SECONDS = float(os.environ.get("FLUXOS_BENCH_SECONDS", "8"))
EXTRA_BLOCKS = 1000

ROUTE_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local height = math.random({low}, {high})
  return wrk.format("GET", "{path}" .. height .. "{suffix}?n=" .. counter)
end
"""

DEVNET_CALL = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic {token}"
request = function()
  local height = math.random({low}, {high})
  local body = '{{"jsonrpc":"2.0","id":1,"method":"getblock","params":["' .. height .. '",1]}}'
  return wrk.format(nil, "/", nil, body)
end
"""


@dataclass(frozen=True)
class Run:
    wrk: WrkResult
    cpu_ms_per_call: float | None


@dataclass(frozen=True)
class Case:
    name: str
    url: str
    script: Path | None
    process: psutil.Process | None  # whose CPU is counted


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def free_api_port() -> int:
    """A Flux API port (16127 … 16197) free on this machine, with the ones beside it."""
    for port in range(16177, 16127 - 1, -10):
        try:
            for offset in range(3):
                with socket.socket() as probe:
                    probe.bind((HOST, port + offset))
        except OSError:
            continue
        return port
    raise SystemExit("no Flux API port (16127 … 16197) is free")


def read_conf(path: Path) -> dict[str, str]:
    entries = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in entries}


def rpc(url: str, auth: tuple[str, str], method: str, *params: object) -> object:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = httpx.post(url, json=body, auth=auth, timeout=300).json()
    if reply.get("error"):
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def start_devnet(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], tuple[str, str]]:
    command = [sys.executable, "-m", "fluxos.devnet", "--data-dir", str(data_dir)]
    process = subprocess.Popen(
        [*command, "--rpc-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conf = data_dir / "flux.conf"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if conf.exists() and read_conf(conf).get("rpcport") == str(port):
            values = read_conf(conf)
            auth = (values["rpcuser"], values["rpcpassword"])
            try:
                rpc(f"http://{HOST}:{port}/", auth, "getblockcount")
                return process, auth
            except (httpx.HTTPError, RuntimeError):
                pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the devnet did not start")


def start_fluxos(
    data_dir: Path, conf: Path, port: int, src: Path | None = None
) -> subprocess.Popen[bytes]:
    """A node on `port`; with `src`, the fluxos package found there instead of this one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # no Syncthing: only the API and its fluxd client are measured
    (data_dir / "fluxos.toml").write_text(
        f'fluxd_conf = "{conf}"\n\n[syncthing]\nenabled = false\n'
    )
    env = {**os.environ, "HOME": str(data_dir)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return start_node(data_dir, HOST, port, env)


def checkout_src(revision: str, target: Path) -> Path:
    """`src/` of `revision` of this repository, extracted under `target`."""
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), "archive", revision, "src"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def start_express(rpc_port: int, auth: tuple[str, str], port: int) -> subprocess.Popen[bytes]:
    installed = npm_install(BENCH_DIR / "express")
    if installed is None:
        raise SystemExit("express: node/npm unavailable, the baseline cannot run")
    shutil.copy(BENCH_DIR / "express" / "daemon.js", installed / "daemon.js")
    node = shutil.which("node")
    assert node is not None
    return subprocess.Popen(
        [node, "daemon.js", str(port), str(rpc_port), *auth],
        cwd=installed,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of `process` and its living children (fluxos workers)."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(case: Case) -> Run:
    before = cpu_seconds(case.process) if case.process else 0.0
    result = run_wrk(case.url, seconds=SECONDS, script=case.script)
    if case.process is None or result.requests == 0:
        return Run(result, None)
    spent = cpu_seconds(case.process) - before
    return Run(result, spent * 1000 / result.requests)


def summarise(name: str, runs: list[Run]) -> dict[str, float]:
    rps = median([r.wrk.requests_per_second for r in runs])
    p50 = median([r.wrk.p50_ms for r in runs])
    p99 = median([r.wrk.p99_ms for r in runs])
    errors = sum(r.wrk.errors for r in runs)
    cpus = [r.cpu_ms_per_call for r in runs if r.cpu_ms_per_call is not None]
    cpu = median(cpus) if cpus else float("nan")
    cpu_text = f"   cpu {cpu:5.3f} ms/call" if cpus else ""
    print(
        f"{name:<36} {rps:>8,.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
        f"{cpu_text}   errors {errors}"
    )
    return {"rps": rps, "p99": p99, "cpu": cpu}


def ratios(figures: dict[str, dict[str, float]], ours: str, theirs: str, label: str) -> None:
    mine, other = figures[ours], figures[theirs]
    print(
        f"ratio fluxos/express {label}: req/s {mine['rps'] / other['rps']:.2f}   "
        f"p99 {mine['p99']:.2f} vs {other['p99']:.2f} ms   "
        f"cpu/call {mine['cpu']:.3f} vs {other['cpu']:.3f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rpc_port, node_port, express_port = free_port(), free_api_port(), free_port()
        devnet, auth = start_devnet(tmp / "devnet", rpc_port)
        children: list[subprocess.Popen[bytes]] = [devnet]
        try:
            devnet_url = f"http://{HOST}:{rpc_port}/"
            rpc(devnet_url, auth, "generate", EXTRA_BLOCKS)
            count = rpc(devnet_url, auth, "getblockcount")
            assert isinstance(count, int), count
            high = count - 2  # buried: block-cacheable
            low = high - EXTRA_BLOCKS - 250
            node = start_fluxos(tmp / "node", tmp / "devnet" / "flux.conf", node_port)
            children.append(node)
            express = start_express(rpc_port, auth, express_port)
            children.append(express)
            node_url = f"http://{HOST}:{node_port}"
            express_url = f"http://{HOST}:{express_port}"
            wait_for(f"{node_url}/daemon/getinfo", timeout=120)  # a loaded machine starts slowly
            wait_for(f"{express_url}/daemon/getblockhash/1")
            check(node_url, express_url, high)
            before_rev = os.environ.get("FLUXOS_BENCH_BEFORE")
            before_url = ""
            if before_rev:
                before_src = checkout_src(before_rev, tmp / "before")
                before_port = free_api_port()
                before = start_fluxos(
                    tmp / "before-node", tmp / "devnet" / "flux.conf", before_port, before_src
                )
                children.append(before)
                before_url = f"http://{HOST}:{before_port}"
                wait_for(f"{before_url}/daemon/getinfo", timeout=120)
                check(before_url, express_url, high)

            def script(name: str, text: str) -> Path:
                path = tmp / f"{name}.lua"
                path.write_text(text)
                return path

            block = script(
                "block",
                ROUTE_SCRIPT.format(low=low, high=high, path="/daemon/getblock/", suffix="/1"),
            )
            block_hash = script(
                "hash",
                ROUTE_SCRIPT.format(low=low, high=high, path="/daemon/getblockhash/", suffix=""),
            )
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            direct = script("direct", DEVNET_CALL.format(token=token, low=low, high=high))
            fluxos_process, express_process = psutil.Process(node.pid), psutil.Process(express.pid)
            cases = [
                Case("fluxos getblock/<h>/1 (uncached)", node_url, block, fluxos_process),
                Case("express getblock/<h>/1 (uncached)", express_url, block, express_process),
                Case("fluxos getblockhash/<h> (uncached)", node_url, block_hash, fluxos_process),
                Case(
                    "express getblockhash/<h> (uncached)", express_url, block_hash, express_process
                ),
                Case(
                    "fluxos getinfo (route cache)",
                    f"{node_url}/daemon/getinfo",
                    None,
                    fluxos_process,
                ),
                Case("devnet getblock (direct RPC)", devnet_url, direct, None),
            ]
            if before_rev:
                before_process = psutil.Process(before.pid)
                cases += [
                    Case(f"fluxos@{before_rev} getblock (uncached)", before_url, block,
                         before_process),
                    Case(f"fluxos@{before_rev} getblockhash (uncached)", before_url, block_hash,
                         before_process),
                ]  # fmt: skip
            runs: dict[str, list[Run]] = {case.name: [] for case in cases}
            for _ in range(ROUNDS):
                for case in cases:
                    runs[case.name].append(measure(case))
            print(
                f"wrk -t1 -c32 -d{SECONDS:g}s, median of {ROUNDS} rounds; devnet chain of "
                f"{high - low + 2} blocks sampled at random; {os.cpu_count()} CPUs"
            )
            figures = {name: summarise(name, each) for name, each in runs.items()}
            ratios(figures, cases[0].name, cases[1].name, "getblock/<h>/1")
            ratios(figures, cases[2].name, cases[3].name, "getblockhash/<h>")
            if before_rev:
                ratios(figures, cases[6].name, cases[1].name, f"getblock/<h>/1 @{before_rev}")
                ratios(figures, cases[7].name, cases[3].name, f"getblockhash/<h> @{before_rev}")
        finally:
            for process in reversed(children):
                process.terminate()
                process.wait()


def check(node_url: str, express_url: str, height: int) -> None:
    """Both servers answer the same envelope for the same block (and the same error)."""
    get: Callable[[str], object] = lambda url: httpx.get(url, timeout=30).json()  # noqa: E731
    for path in (f"/daemon/getblock/{height}/1", f"/daemon/getblockhash/{height}"):
        ours, theirs = get(node_url + path), get(express_url + path)
        assert ours == theirs, (path, json.dumps(ours)[:200], json.dumps(theirs)[:200])
    ours = get(f"{node_url}/daemon/getblock/{10**9}/1")
    theirs = get(f"{express_url}/daemon/getblock/{10**9}/1")
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    assert ours["status"] == theirs["status"] == "error", (ours, theirs)
    assert ours["data"]["code"] == theirs["data"]["code"], (ours, theirs)


if __name__ == "__main__":
    main()
