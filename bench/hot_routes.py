"""The other hot uncached read paths: `/explorer/*` address queries and `/apps/*` lists.

One devnet (its chain extended, then payments to a few fresh addresses, so the explorer
has outputs and transactions to answer), one node that indexes it, wrk with 32
connections and a new URL every request (`?n=<counter>`), so the route cache never
answers. Per case: req/s, p99 and the node's CPU per call, medians over the rounds.

* `/explorer/utxo|transactions|balance/<address>`, an address picked at random among the
  paid ones on every request;
* `/apps/globalappsspecifications`, `/apps/permanentmessages`, `/apps/locations`,
  `/apps/location/<name>`: the registry of a fresh devnet is empty, so these measure the
  path (routing, cache miss, store query, envelope), not the size of a mainnet list
  (bench/apps_registry.py measures that work).

    .venv/bin/python bench/hot_routes.py                 # FLUXOS_BENCH_ROUNDS=3 by default
    FLUXOS_BENCH_BEFORE=<git rev> .venv/bin/python bench/hot_routes.py

With FLUXOS_BENCH_BEFORE, a second node runs that revision's `src/` beside this one on
the same devnet, and every case is measured on both in the same rounds.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from _loadgen import median, wait_for
from daemon_routes import (
    HOST,
    SECONDS,
    Case,
    Run,
    checkout_src,
    free_api_port,
    free_port,
    measure,
    rpc,
    start_devnet,
    start_fluxos,
)

ROUNDS = int(os.environ.get("FLUXOS_BENCH_ROUNDS", "3"))
ADDRESSES = 8
PAYMENTS = 12  # per address, each in its own block

PICK_SCRIPT = """
counter = 0
addresses = {{{addresses}}}
request = function()
  counter = counter + 1
  local address = addresses[math.random(1, #addresses)]
  return wrk.format("GET", "{path}" .. address .. "?n=" .. counter)
end
"""

PLAIN_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "{path}?n=" .. counter)
end
"""


def wait_indexed(node_url: str, height: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = httpx.get(f"{node_url}/explorer/scannedheight", timeout=10).json()["data"]
            if int(data.get("generalScannedHeight", 0)) >= height:
                return
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(1)
    raise SystemExit(f"{node_url}: the explorer did not index up to {height} in {timeout:g} s")


def summarise(name: str, runs: list[Run]) -> None:
    rps = median([r.wrk.requests_per_second for r in runs])
    p99 = median([r.wrk.p99_ms for r in runs])
    cpus = [r.cpu_ms_per_call for r in runs if r.cpu_ms_per_call is not None]
    errors = sum(r.wrk.errors for r in runs)
    cpu = f"{median(cpus):6.3f}" if cpus else "   n/a"
    print(
        f"{name:<52} {rps:>8,.0f} req/s   p99 {p99:7.2f} ms   cpu {cpu} ms/call   errors {errors}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rpc_port = free_port()
        devnet, auth = start_devnet(tmp / "devnet", rpc_port)
        children = [devnet]
        try:
            devnet_url = f"http://{HOST}:{rpc_port}/"
            rpc(devnet_url, auth, "generate", 200)
            addresses = [str(rpc(devnet_url, auth, "getnewaddress")) for _ in range(ADDRESSES)]
            for _ in range(PAYMENTS):
                for address in addresses:
                    rpc(devnet_url, auth, "sendtoaddress", address, 1.5)
                rpc(devnet_url, auth, "generate", 1)
            tip = int(rpc(devnet_url, auth, "getblockcount"))  # type: ignore[call-overload]
            conf = tmp / "devnet" / "flux.conf"
            nodes: list[tuple[str, str, psutil.Process]] = []
            port = free_api_port()
            node = start_fluxos(tmp / "node", conf, port)
            children.append(node)
            nodes.append(("fluxos", f"http://{HOST}:{port}", psutil.Process(node.pid)))
            before_rev = os.environ.get("FLUXOS_BENCH_BEFORE")
            if before_rev:
                src = checkout_src(before_rev, tmp / "before")
                before_port = free_api_port()
                before = start_fluxos(tmp / "before-node", conf, before_port, src)
                children.append(before)
                nodes.append(
                    (f"fluxos@{before_rev}", f"http://{HOST}:{before_port}",
                     psutil.Process(before.pid))
                )  # fmt: skip
            for _, url, _ in nodes:
                wait_for(f"{url}/daemon/getinfo", timeout=120)
                wait_indexed(url, tip)
            sample = httpx.get(f"{nodes[0][1]}/explorer/utxo/{addresses[0]}", timeout=30).json()
            assert sample["status"] == "success" and len(sample["data"]) >= PAYMENTS, sample

            def script(name: str, text: str) -> Path:
                path = tmp / f"{name}.lua"
                path.write_text(text)
                return path

            quoted = ",".join(f'"{a}"' for a in addresses)
            shapes = [
                ("explorer/utxo/<addr>", PICK_SCRIPT, "/explorer/utxo/"),
                ("explorer/transactions/<addr>", PICK_SCRIPT, "/explorer/transactions/"),
                ("explorer/balance/<addr>", PICK_SCRIPT, "/explorer/balance/"),
                ("apps/globalappsspecifications", PLAIN_SCRIPT, "/apps/globalappsspecifications"),
                ("apps/permanentmessages", PLAIN_SCRIPT, "/apps/permanentmessages"),
                ("apps/locations", PLAIN_SCRIPT, "/apps/locations"),
                ("apps/location/<name>", PLAIN_SCRIPT, "/apps/location/someapp"),
            ]
            cases: list[Case] = []
            for index, (label, text, path) in enumerate(shapes):
                lua = script(f"case{index}", text.format(addresses=quoted, path=path))
                for name, url, process in nodes:
                    cases.append(Case(f"{name} {label}", url, lua, process))
            runs: dict[str, list[Run]] = {case.name: [] for case in cases}
            for _ in range(ROUNDS):
                for case in cases:
                    runs[case.name].append(measure(case))
            print(
                f"wrk -t1 -c32 -d{SECONDS:g}s, a new URL per request, median of {ROUNDS} rounds; "
                f"{ADDRESSES} addresses with {PAYMENTS} payments each; {os.cpu_count()} CPUs"
            )
            for name, each in runs.items():
                summarise(name, each)
        finally:
            for process in reversed(children):
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
