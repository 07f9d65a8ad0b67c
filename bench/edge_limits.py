"""The HTTP edge under abuse (issue 12): the node's RSS and the p99 of /flux/version for a
second client (a) at rest, (b) while 10,000 idle sockets are held, (c) while 16 MB bodies
are sent to an admin route without credentials. Target: p99 under load within 2x of rest,
RSS under 200 MB, no failed request. A node with no fluxd; medians of 3 rounds of 1,000
sequential keep-alive requests each, with the node's CPU share per phase: on a small
machine the 16 MB senders (other processes) take the cores the node and the measuring
client need, which the node's own CPU share tells apart from work the node does."""

from __future__ import annotations

import multiprocessing
import os
import re
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

from _loadgen import median, start_node, wait_for
from fluxos.api.server import raise_file_limit

HOST = "127.0.0.64"
PORT = 16127
URL = f"http://{HOST}:{PORT}"
ROUNDS = 3
REQUESTS = 1000
IDLE = 10_000
SOURCES = 50  # idle sockets come from 50 loopback addresses: 200 each, under the per-IP cap
SIXTEEN_MB = 16 * 1024 * 1024


def memory(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of the node in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss, peak = (
        int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
        for field in ("VmRSS", "VmHWM")
    )
    return rss / 1024, peak / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the node has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99_round(client: httpx.Client) -> tuple[float, int]:
    """p99 in ms of REQUESTS calls, and how many failed."""
    times: list[float] = []
    failed = 0
    for _ in range(REQUESTS):
        began = time.perf_counter()
        try:
            reply = client.get("/flux/version")
            ok = reply.status_code == 200 and reply.json()["status"] == "success"
        except httpx.HTTPError:
            ok = False
        times.append((time.perf_counter() - began) * 1000)
        failed += not ok
    return statistics.quantiles(times, n=100)[98], failed


def measure(label: str, pid: int) -> tuple[float, float]:
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    cpu_before, began = cpu_seconds(pid), time.perf_counter()
    with httpx.Client(base_url=URL, transport=transport, timeout=30) as client:
        rounds = [p99_round(client) for _ in range(ROUNDS)]
    cpu = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - began)
    p99 = median([r[0] for r in rounds])
    failed = sum(r[1] for r in rounds)
    rss, peak = memory(pid)
    print(
        f"{label:44} p99 {p99:7.2f} ms   failed {failed:3d}   "
        f"RSS {rss:6.1f} MB (peak {peak:6.1f} MB)   node CPU {cpu:4.0%}"
    )
    return p99, peak


@contextmanager
def idle_sockets() -> Iterator[None]:
    held: list[socket.socket] = []
    try:
        for index in range(IDLE):
            sock = socket.socket()
            sock.bind((f"127.0.2.{index % SOURCES + 1}", 0))
            sock.connect((HOST, PORT))
            held.append(sock)
        yield
    finally:
        for sock in held:
            sock.close()


def flood(source: str, stop: Event, answered: Synchronized[int]) -> None:
    """Send 16 MB bodies to an admin route without credentials until told to stop."""
    body = b"[" * SIXTEEN_MB
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=URL, transport=transport, timeout=60) as client:
        while not stop.is_set():
            reply = client.post("/daemon/sendmany", content=body)
            assert reply.json()["data"]["code"] == 401, reply.text[:200]
            with answered.get_lock():
                answered.value += 1


@contextmanager
def unauthenticated_floods(senders: int = 2) -> Iterator[None]:
    # other processes: the measuring client must not wait on the senders' GIL
    stop = multiprocessing.Event()
    answered = multiprocessing.Value("i", 0)
    processes = [
        multiprocessing.Process(target=flood, args=(f"127.0.3.{i + 1}", stop, answered))
        for i in range(senders)
    ]
    for process in processes:
        process.start()
    try:
        yield
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=120)
        failed = [p.exitcode for p in processes if p.exitcode != 0]
        print(
            f"{'':44} ({answered.value} 16 MB bodies answered 401 meanwhile; "
            f"senders failed: {len(failed)})"
        )


def main() -> None:
    raise_file_limit(log_it=False)  # this process holds the 10,000 sockets
    with tempfile.TemporaryDirectory() as tmp:
        # idle sockets are held longer than the 20 s default, so all 10,000 stay open
        env = {
            "FLUXOS_DAEMON": '{"embedded": false}',
            "FLUXOS_EDGE": '{"first_byte_timeout": 300}',
            "FLUXOS_UI": '{"release_url": ""}',
            "FLUXOS_SYNCTHING": '{"enabled": false}',
            "FLUXOS_UPNP": '{"enabled": false}',
            "FLUXOS_RUNTIME": '{"enabled": false}',
        }
        process = start_node(Path(tmp) / "node", HOST, PORT, env)
        try:
            wait_for(URL + "/flux/version")
            print(f"/flux/version from a second client, {ROUNDS} x {REQUESTS} requests")
            rest, _ = measure("(a) at rest", process.pid)
            with idle_sockets():
                idle, idle_peak = measure(f"(b) {IDLE:,} idle sockets held", process.pid)
            with unauthenticated_floods():
                flood, flood_peak = measure("(c) 16 MB bodies without credentials", process.pid)
            print(
                f"p99 ratios to rest: idle {idle / rest:.2f}x, bodies {flood / rest:.2f}x "
                f"(target <= 2x); peak RSS {max(idle_peak, flood_peak):.1f} MB (target < 200)"
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
