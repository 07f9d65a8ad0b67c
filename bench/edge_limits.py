"""The HTTP edge under abuse (issue 12): the node's RSS and the p99 of /flux/version for a
second client (a) at rest, (b) while 10,000 idle sockets are held, (c) while 16 MB bodies
are sent to an admin route without credentials. Target: p99 under load within 2x of rest,
RSS under 200 MB, no failed request. A node with no fluxd; medians of 3 rounds of 1,000
sequential keep-alive requests each, with the node's CPU share and what it received.

Every phase runs in two placements of one node:

* shared: the node, the measuring client and the flood senders on the same cores, as the
  scheduler puts them. On a 2-core machine the senders (two processes pushing 16 MB each)
  take the CPU the node and the measuring client need.
* apart: the node's threads on CPU 0; this process (the measuring client, the idle
  sockets) and the senders on CPU 1, the senders niced. This is a remote attacker: their
  CPU is not the node's, nor the other client's. Loopback does the receive work of the
  kernel in the sender's context (CPU 1), where a network card would do it on the node;
  the node closes a refused connection after its headers and at most ~64 KB, so that
  part is small, and the bytes the node received are printed. The measuring client still
  shares CPU 1 with the senders and their kernel send work, which nicing does not lower:
  2 cores cannot keep three parties apart, so this figure is an upper bound.
"""

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
from dataclasses import dataclass
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
SENDER_NICENESS = 10
REMOTE = (
    "The apart placement is the one that models a remote attacker (the node's core does "
    "only the node's work); the shared one adds the senders' own CPU to the node's cores, "
    "and on both the measuring client shares a core with the senders."
)


@dataclass(frozen=True)
class Placement:
    name: str
    node_cpus: set[int] | None  # None: every CPU this process may use
    client_cpus: set[int] | None
    sender_niceness: int


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


def bytes_received(pid: int) -> int:
    """What the node has read through system calls so far (rchar): sockets and files."""
    io = Path(f"/proc/{pid}/io").read_text()
    return int(re.search(r"rchar: (\d+)", io).group(1))  # type: ignore[union-attr]


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` on `cpus` (threads started later inherit it)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), cpus)


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


def measure(label: str, pid: int) -> tuple[float, float, int]:
    """(median p99 in ms, peak RSS in MB, failed requests) of one phase, printed."""
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    cpu_before, read_before, began = cpu_seconds(pid), bytes_received(pid), time.perf_counter()
    with httpx.Client(base_url=URL, transport=transport, timeout=30) as client:
        rounds = [p99_round(client) for _ in range(ROUNDS)]
    took = time.perf_counter() - began
    cpu = (cpu_seconds(pid) - cpu_before) / took
    received = (bytes_received(pid) - read_before) / took / 1e6
    p99 = median([r[0] for r in rounds])
    failed = sum(r[1] for r in rounds)
    rss, peak = memory(pid)
    print(
        f"  {label:38} p99 {p99:7.2f} ms  failed {failed:3d}  RSS {rss:5.1f} MB "
        f"(peak {peak:5.1f})  node CPU {cpu:4.0%}  read {received:7.1f} MB/s"
    )
    return p99, peak, failed


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


def flood(source: str, stop: Event, answered: Synchronized[int], niceness: int) -> None:
    """Send 16 MB bodies to an admin route without credentials until told to stop."""
    os.nice(niceness)
    body = b"[" * SIXTEEN_MB
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=URL, transport=transport, timeout=60) as client:
        while not stop.is_set():
            reply = client.post("/daemon/sendmany", content=body)
            assert reply.json()["data"]["code"] == 401, reply.text[:200]
            with answered.get_lock():
                answered.value += 1


@contextmanager
def unauthenticated_floods(niceness: int, senders: int = 2) -> Iterator[None]:
    # other processes: the measuring client must not wait on the senders' GIL
    stop = multiprocessing.Event()
    answered = multiprocessing.Value("i", 0)
    processes = [
        multiprocessing.Process(target=flood, args=(f"127.0.3.{i + 1}", stop, answered, niceness))
        for i in range(senders)
    ]
    for process in processes:
        process.start()
    began = time.perf_counter()
    try:
        yield
    finally:
        stop.set()
        took = time.perf_counter() - began
        for process in processes:
            process.join(timeout=120)
        failed = [p.exitcode for p in processes if p.exitcode != 0]
        print(
            f"  {'':38} ({answered.value} 16 MB bodies answered 401 meanwhile, "
            f"{answered.value / took:.0f}/s; senders failed: {len(failed)})"
        )


def phases(placement: Placement, pid: int) -> tuple[float, float, float]:
    """(idle ratio, bodies ratio, peak RSS) of the three phases in `placement`."""
    everywhere = os.sched_getaffinity(0)
    pin(pid, placement.node_cpus or everywhere)
    os.sched_setaffinity(0, placement.client_cpus or everywhere)  # the senders inherit it
    try:
        print(placement.name)
        rest, _, failed = measure("(a) at rest", pid)
        with idle_sockets():
            idle, idle_peak, idle_failed = measure(f"(b) {IDLE:,} idle sockets held", pid)
        with unauthenticated_floods(placement.sender_niceness):
            bodies, bodies_peak, bodies_failed = measure(
                "(c) 16 MB bodies without credentials", pid
            )
    finally:
        os.sched_setaffinity(0, everywhere)
    peak = max(idle_peak, bodies_peak)
    print(
        f"  p99 ratios to rest: idle {idle / rest:.2f}x, bodies {bodies / rest:.2f}x "
        f"(target <= 2x); peak RSS {peak:.1f} MB (target < 200); "
        f"failed {failed + idle_failed + bodies_failed} (target 0)"
    )
    return idle / rest, bodies / rest, peak


def main() -> None:
    raise_file_limit(log_it=False)  # this process holds the 10,000 sockets
    cpus = sorted(os.sched_getaffinity(0))
    placements = [Placement("shared: node, client and senders on every core", None, None, 0)]
    if len(cpus) >= 2:
        placements.append(
            Placement(
                f"apart: node on CPU {cpus[0]}; client and senders (nice "
                f"{SENDER_NICENESS}) on CPU {cpus[1]} -- a remote attacker",
                {cpus[0]},
                {cpus[1]},
                SENDER_NICENESS,
            )
        )
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
            for placement in placements:
                phases(placement, process.pid)
            if len(placements) > 1:
                print(REMOTE)
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
