"""`fluxos cluster N`: a whole Flux network on one machine.

A devnet (`python -m fluxos.devnet --nodes M`) gives M confirmed fluxnodes at
127.0.0.2 … 127.0.0.(M+1), port 16127, each with its own flux.conf (RPC credentials and
`zelnodeprivkey`). The cluster then starts N ≤ M node processes, one per address, each
with its own data dir whose `fluxos.toml` points at its fluxd config. Every 127.x address
is the local machine on Linux, so no ports need juggling.

Layout of the data dir D:

    D/devnet/              the devnet (chain, node-<i>/flux.conf per fluxd)
    D/node-<i>/            node i: fluxos.toml, its database, logs, process.log
    D/owner.wif            the key of the ZelID that owns every node (admin login)

Children run in their own sessions, so Ctrl-C reaches only the cluster, which then stops
the nodes first and the devnet last.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fluxos.chain.fluxconf import FluxConf
from fluxos.crypto import PrivateKey, bitcoin_address

log = logging.getLogger(__name__)

API_PORT = 16127
FIRST_HOST = 2  # 127.0.0.2 is the devnet's first fluxnode
DEVNET_READY_SECONDS = 180.0
NODE_READY_SECONDS = 60.0
STOP_SECONDS = 10.0


class ClusterError(Exception):
    """The cluster could not be started; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class PeerTargets:
    """Peer targets written into every node's settings (upstream's defaults if unset)."""

    min_outgoing: int | None = None
    min_incoming: int | None = None
    outgoing_target: int | None = None
    incoming_target: int | None = None

    def settings(self) -> dict[str, int]:
        values = {
            "min_outgoing_peers": self.min_outgoing,
            "min_incoming_peers": self.min_incoming,
            "outgoing_peer_target": self.outgoing_target,
            "incoming_peer_target": self.incoming_target,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class ClusterNode:
    """One node process of the cluster."""

    index: int  # 1-based, as the devnet numbers its endpoints
    host: str
    data_dir: Path
    fluxd_conf: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{API_PORT}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{API_PORT}"

    @property
    def health_url(self) -> str:
        return f"http://{self.host}:{API_PORT - 1}/health"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "process.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pubkey(self) -> str:
        wif = FluxConf.read(self.fluxd_conf).get("zelnodeprivkey") or ""
        return PrivateKey.from_wif(wif).public_key.hex() if wif else ""


@dataclass
class Cluster:
    """A devnet and N node processes; `start()`, then `stop()` (or use it as a context)."""

    count: int
    data_dir: Path
    fluxnodes: int | None = None  # devnet fluxnodes; more than `count` leaves spares
    targets: PeerTargets = field(default_factory=PeerTargets)
    log_level: str = "info"
    # each node runs its own Syncthing (home in its data dir, API on its address:8384,
    # listening on its address:16129); `stop()` stops them, as a node never does
    syncthing: bool = False
    # apps on Docker (`[runtime] enabled`): off, as nodes on one machine would share one
    # dockerd's app networks and container names; each needs an engine of its own, so
    # `docker_hosts` (one per node, e.g. tests.support.nodedocker's) turns them on
    apps: bool = False
    docker_hosts: list[str] = field(default_factory=list)
    runtime: dict[str, Any] = field(default_factory=dict)  # more `[runtime]` settings
    python: str = sys.executable
    devnet: subprocess.Popen[bytes] | None = None
    nodes: list[ClusterNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ClusterError(f"the cluster needs at least 1 node, got {self.count}")
        if self.count > 250:
            raise ClusterError(f"at most 250 nodes fit on 127.0.0.2-254, got {self.count}")
        if self.fluxnodes is None:
            self.fluxnodes = self.count
        if self.docker_hosts and len(self.docker_hosts) != self.count:
            raise ClusterError(
                f"docker_hosts names {len(self.docker_hosts)} engines for {self.count} nodes"
            )
        if self.fluxnodes < self.count:
            raise ClusterError(
                f"fluxnodes ({self.fluxnodes}) must be at least count ({self.count})"
            )
        self.data_dir = self.data_dir.expanduser().resolve()
        self.owner = self._owner_key()
        self.nodes = [
            ClusterNode(
                index=i,
                host=f"127.0.0.{i - 1 + FIRST_HOST}",
                data_dir=self.data_dir / f"node-{i}",
                fluxd_conf=self.devnet_dir / f"node-{i}" / "flux.conf",
            )
            for i in range(1, self.count + 1)
        ]

    @property
    def devnet_dir(self) -> Path:
        return self.data_dir / "devnet"

    @property
    def owner_zelid(self) -> str:
        return bitcoin_address(self.owner.public_key)

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, progress: Callable[[str], None] = lambda _: None) -> None:
        """Start the devnet, wait for its fluxnodes, then start and wait for every node."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_addresses_free()
        progress(f"starting a devnet with {self.fluxnodes} fluxnodes")
        self._start_devnet()
        try:
            self._wait_devnet()
            progress(f"starting {self.count} nodes")
            for node in self.nodes:
                self.start_node(node, wait=False)
            for node in self.nodes:
                self.wait_node(node)
        except BaseException:
            self.stop()
            raise

    def start_node(self, node: ClusterNode, *, wait: bool = True) -> None:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_settings(node)
        command = [self.python, "-m", "fluxos", "start", "--data-dir", str(node.data_dir)]
        env = {**os.environ, "FLUXOS_LOG_CONSOLE": "true"}
        with node.log_path.open("ab") as output:
            node.process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        if wait:
            self.wait_node(node)

    def wait_node(self, node: ClusterNode) -> None:
        deadline = time.monotonic() + NODE_READY_SECONDS
        while time.monotonic() < deadline:
            if not node.running:
                raise ClusterError(
                    f"node {node.index} ({node.address}) exited; see {node.log_path}:\n"
                    + _tail(node.log_path)
                )
            try:
                if httpx.get(f"{node.url}/flux/version", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ClusterError(f"node {node.index} did not answer within {NODE_READY_SECONDS:.0f} s")

    def kill_node(self, node: ClusterNode) -> None:
        """SIGKILL: the node vanishes without closing its connections."""
        if node.process is not None and node.running:
            node.process.kill()
            node.process.wait()

    def stop_node(self, node: ClusterNode) -> int | None:
        process = node.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("node %d did not stop in %.0f s; killing it", node.index, STOP_SECONDS)
                process.kill()
                process.wait()
        return process.returncode

    def stop(self) -> None:
        """Nodes first (in parallel), then the devnet."""
        for node in self.nodes:
            if node.running:
                assert node.process is not None
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            self.stop_node(node)
        if self.syncthing:
            for node in self.nodes:
                self.stop_syncthing(node)
        if self.devnet is not None and self.devnet.poll() is None:
            self.devnet.send_signal(signal.SIGTERM)
            try:
                self.devnet.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.devnet.kill()
                self.devnet.wait()

    def stop_syncthing(self, node: ClusterNode) -> bool:
        """Stop the node's Syncthing (a node leaves its Syncthing running when it stops)."""
        import asyncio

        from fluxos.clock import SystemClock
        from fluxos.sync.process import stop_syncthing

        return asyncio.run(stop_syncthing(node.data_dir / "syncthing", SystemClock()))

    def wait(self) -> None:
        """Block until a signal arrives (SIGINT/SIGTERM), reporting nodes that exit."""
        stopping = False

        def request_stop(_signum: int, _frame: Any) -> None:
            nonlocal stopping
            stopping = True

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        reported: set[int] = set()
        try:
            while not stopping:
                for node in self.nodes:
                    if not node.running and node.index not in reported:
                        reported.add(node.index)
                        log.error("node %d exited; see %s", node.index, node.log_path)
                if self.devnet is not None and self.devnet.poll() is not None:
                    log.error("the devnet exited; see %s", self.devnet_dir / "process.log")
                    return
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- parts ---------------------------------------------------------------------------
    def _owner_key(self) -> PrivateKey:
        path = self.data_dir / "owner.wif"
        if path.exists():
            return PrivateKey.from_wif(path.read_text().strip())
        key = PrivateKey.generate(compressed=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.to_wif() + "\n")
        return key

    def _check_addresses_free(self) -> None:
        for node in self.nodes:
            with socket.socket() as probe:
                # as the servers will: connections of an earlier run in TIME_WAIT are fine
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((node.host, API_PORT))
                except OSError as error:
                    raise ClusterError(
                        f"{node.address} is taken ({error.strerror}): is another cluster running?"
                    ) from None

    def _start_devnet(self) -> None:
        self.devnet_dir.mkdir(parents=True, exist_ok=True)
        command = [
            self.python, "-m", "fluxos.devnet", "--data-dir", str(self.devnet_dir),
            "--nodes", str(self.fluxnodes), "--rpc-port", "0",
        ]  # fmt: skip
        with (self.devnet_dir / "process.log").open("ab") as output:
            self.devnet = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_devnet(self) -> None:
        """Until every fluxd endpoint answers and lists all fluxnodes as confirmed."""
        from fluxos.chain.fluxd import FluxdConfig

        assert self.devnet is not None
        deadline = time.monotonic() + DEVNET_READY_SECONDS
        conf = self.devnet_dir / f"node-{self.fluxnodes}" / "flux.conf"
        while time.monotonic() < deadline:
            if self.devnet.poll() is not None:
                raise ClusterError(
                    "the devnet exited while starting:\n" + _tail(self.devnet_dir / "process.log")
                )
            if conf.exists() and _listed(FluxdConfig.read(conf, testnet=False)) >= (
                self.fluxnodes or 0
            ):
                return
            time.sleep(0.25)
        raise ClusterError(f"the devnet was not ready within {DEVNET_READY_SECONDS:.0f} s")

    def _write_settings(self, node: ClusterNode) -> None:
        values: dict[str, Any] = {
            "ipaddress": node.host,
            "host": node.host,
            "apiport": API_PORT,
            "development": True,
            "zelid": self.owner_zelid,
            "fluxd_conf": str(node.fluxd_conf),
            "log_level": self.log_level,
            **self.targets.settings(),
        }
        lines = [f"{key} = {_toml(value)}" for key, value in values.items()]
        lines += ["[syncthing]", f"enabled = {_toml(self.syncthing)}"]
        runtime: dict[str, Any] = {"enabled": self.apps or bool(self.docker_hosts)}
        if self.docker_hosts:
            runtime["docker_host"] = self.docker_hosts[node.index - 1]
        runtime.update(self.runtime)
        lines += ["[runtime]", *(f"{key} = {_toml(value)}" for key, value in runtime.items())]
        header = "# written by `fluxos cluster`; rewritten on every cluster start\n"
        (node.data_dir / "fluxos.toml").write_text(header + "\n".join(lines) + "\n")


def _listed(conf: Any) -> int:
    """How many confirmed fluxnodes the endpoint of `conf` lists (0 while not ready)."""
    payload = {"jsonrpc": "1.0", "id": 0, "method": "viewdeterministicfluxnodelist", "params": []}
    try:
        reply = httpx.post(
            conf.endpoint.url,
            json=payload,
            auth=(conf.endpoint.user, conf.endpoint.password),
            timeout=2,
        )
        result = reply.json().get("result")
    except (httpx.HTTPError, ValueError):
        return 0
    return len(result) if isinstance(result, list) else 0


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
