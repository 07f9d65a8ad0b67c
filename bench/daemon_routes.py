"""Requests/s of the daemon passthrough under wrk (32 connections, median of 3 runs):

* `/daemon/getinfo` — answered from the route cache after the first call;
* `/daemon/getblock/<height>/1?n=<counter>` — a new URL and a random height of ~1,300 every
  request, so neither the route cache nor (mostly) the 150-entry block cache answers;
* the same two calls made to the devnet's JSON-RPC directly, so the node's overhead shows
  as a ratio (node req/s ÷ devnet req/s).

    .venv/bin/python bench/daemon_routes.py
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _loadgen import median, run_wrk, start_node, wait_for

HOST = "127.0.0.1"
NODE_PORT = 16177
ROUNDS = 3
EXTRA_BLOCKS = 1000

NODE_GETBLOCK = """
counter = 0
request = function()
  counter = counter + 1
  local height = math.random({low}, {high})
  return wrk.format("GET", "/daemon/getblock/" .. height .. "/1?n=" .. counter)
end
"""

DEVNET_CALL = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic {token}"
request = function()
  local height = math.random({low}, {high})
  local body = '{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}'
  return wrk.format(nil, "/", nil, body)
end
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


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
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fluxos.devnet",
            "--data-dir",
            str(data_dir),
            "--rpc-port",
            str(port),
        ],
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


def start_fluxos(data_dir: Path, conf: Path) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "fluxos.toml").write_text(f'fluxd_conf = "{conf}"\n')
    return start_node(data_dir, HOST, NODE_PORT, {**os.environ, "HOME": str(data_dir)})


def summarise(name: str, runs: list) -> float:
    rps = median([r.requests_per_second for r in runs])
    p50 = median([r.p50_ms for r in runs])
    p99 = median([r.p99_ms for r in runs])
    errors = sum(r.errors for r in runs)
    print(
        f"{name:<34} {rps:>9,.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   errors {errors}"
    )
    return rps


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        devnet, auth = start_devnet(tmp / "devnet", port)
        node = None
        try:
            devnet_url = f"http://{HOST}:{port}/"
            rpc(devnet_url, auth, "generate", EXTRA_BLOCKS)
            count = rpc(devnet_url, auth, "getblockcount")
            assert isinstance(count, int), count
            high = count - 2  # buried: block-cacheable
            low = high - EXTRA_BLOCKS - 250
            node = start_fluxos(tmp / "node", tmp / "devnet" / "flux.conf")
            node_url = f"http://{HOST}:{NODE_PORT}"
            wait_for(f"{node_url}/daemon/getinfo")
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            scripts = {
                "node_getblock": NODE_GETBLOCK.format(low=low, high=high),
                "devnet_getblock": DEVNET_CALL.format(
                    token=token,
                    low=low,
                    high=high,
                    method="getblock",
                    params="[\"' .. height .. '\",1]",
                ),
                "devnet_getinfo": DEVNET_CALL.format(
                    token=token, low=low, high=high, method="getinfo", params="[]"
                ),
            }
            paths = {}
            for name, text in scripts.items():
                paths[name] = tmp / f"{name}.lua"
                paths[name].write_text(text)
            results: dict[str, list] = {
                "node /daemon/getinfo (route cache)": [],
                "devnet getinfo (direct RPC)": [],
                "node /daemon/getblock (uncached)": [],
                "devnet getblock (direct RPC)": [],
            }
            for _ in range(ROUNDS):
                results["node /daemon/getinfo (route cache)"].append(
                    run_wrk(f"{node_url}/daemon/getinfo")
                )
                results["devnet getinfo (direct RPC)"].append(
                    run_wrk(devnet_url, script=paths["devnet_getinfo"])
                )
                results["node /daemon/getblock (uncached)"].append(
                    run_wrk(node_url, script=paths["node_getblock"])
                )
                results["devnet getblock (direct RPC)"].append(
                    run_wrk(devnet_url, script=paths["devnet_getblock"])
                )
            print(
                f"wrk -t1 -c32 -d8s, median of {ROUNDS} runs; devnet chain of "
                f"{high - low + 2} blocks sampled at random; {os.cpu_count()} CPUs"
            )
            rps = {name: summarise(name, runs) for name, runs in results.items()}
            cached = rps["node /daemon/getinfo (route cache)"] / rps["devnet getinfo (direct RPC)"]
            uncached = rps["node /daemon/getblock (uncached)"] / rps["devnet getblock (direct RPC)"]
            print(f"ratio node/devnet getinfo (cached route vs direct RPC): {cached:.2f}")
            print(
                f"ratio node/devnet getblock (uncached passthrough vs direct RPC): {uncached:.2f}"
            )
            sample = httpx.get(f"{node_url}/daemon/getblock/{high}/1").json()
            assert sample["status"] == "success", json.dumps(sample)[:200]
        finally:
            for process in (node, devnet):
                if process is not None:
                    process.terminate()
                    process.wait()


if __name__ == "__main__":
    main()
