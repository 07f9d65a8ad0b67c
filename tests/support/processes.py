"""Real processes for integration tests: start them on loopback, wait for them, stop them.

Every address in 127.0.0.0/8 is this machine, so each node gets its own random loopback
address with the default Flux port, as `fluxos cluster` does; no port juggling needed.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

FLUX_PORT = 16127


def free_loopback_host(port: int = FLUX_PORT) -> str:
    """A 127.x.y.z address on which `port` is free."""
    for _ in range(100):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(2, 254)}"
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return host
    raise RuntimeError("no free loopback address found")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def free_port_run(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive free ports, below the kernel's ephemeral range (an
    outgoing connection of a parallel test can take any port in it between our probe and
    the child's bind)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - count)
        probes = [socket.socket() for _ in range(count)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind((host, base + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise RuntimeError(f"no run of {count} free ports found on {host}")


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # the service may not be up yet
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last error: {last_error})")


def end_process(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Terminate a child the test started (kill it if it ignores that), and reap it."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class NodeProcess:
    """`fluxos start` as a child process with its own data dir and address."""

    def __init__(
        self,
        data_dir: Path,
        host: str | None = None,
        port: int = FLUX_PORT,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.host = host or free_loopback_host(port)
        self.port = port
        # No Syncthing unless a test asks for one (tests/support/syncthing.py): a node never
        # stops its Syncthing, so one started here would outlive the test.
        self.env = {
            **os.environ,
            "FLUXOS_LOG_CONSOLE": "true",
            "FLUXOS_SYNCTHING": '{"enabled": false}',
            # no SSDP discovery on the machine's network: UPnP tests bring a gateway
            "FLUXOS_UPNP": '{"enabled": false}',
            # no apps either unless a test asks (tests/integration/runtime): the docker
            # login gate would refuse logins wherever dockerd is not running
            "FLUXOS_RUNTIME": '{"enabled": false}',
            # no UI release source: /flux/rebuildui would ask GitHub (tests/support/uibundles
            # serves a local one to the tests that want it)
            "FLUXOS_UI": '{"release_url": ""}',
            **(env or {}),
        }
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "process.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, wait: bool = True) -> NodeProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "fluxos",
            "start",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            "--api-port",
            str(self.port),
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        if wait:
            wait_until(self._answers, timeout=30)
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"node exited with {self.process.returncode}:\n{self.output()}")
        return httpx.get(f"{self.url}/flux/version", timeout=1).status_code == 200

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=30, **kwargs)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


@contextmanager
def running_node(data_dir: Path, **kwargs: Any) -> Iterator[NodeProcess]:
    node = NodeProcess(data_dir, **kwargs).start()
    try:
        yield node
    finally:
        node.stop()
