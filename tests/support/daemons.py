"""The devnet and the bench as real processes for integration tests, and a logged-in admin.

`DevnetProcess` runs `python -m fluxos.devnet` on a free port and waits until its flux.conf
names that port and `getblockcount` answers; `rpc()` calls it directly (to set up chain
data the way a test needs it). `BenchProcess` does the same for `python -m fluxos.bench`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from fluxos.chain.fluxconf import FluxConf
from fluxos.identity.client import bitcoin_signer, login, new_bitcoin_key
from tests.support.processes import NodeProcess, free_port, free_port_run, wait_until

BENCH_USER = "fluxbenchuser"
BENCH_PASSWORD = "fluxbenchpassword"


class RpcProcess:
    """A child process answering JSON-RPC on 127.0.0.1."""

    name = "rpc"

    ports = 1  # consecutive ports the child binds from `port`

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self._chosen = port is None  # ours to pick again if another process takes it
        self.port = port or self._pick_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def credentials(self) -> tuple[str, str] | None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _pick_port(self) -> int:
        return free_port_run(self.ports) if self.ports > 1 else free_port()

    def start(self, timeout: float = 60.0) -> RpcProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            try:
                wait_until(self._answers, timeout=timeout, interval=0.2)
                return self
            except AssertionError as error:
                # a port probed free was bound by a parallel test before the child's bind
                taken = "is not available" in str(error) and self.process.poll() is not None
                if not (taken and self._chosen and attempt < 2):
                    raise
                self.port = self._pick_port()
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            code = self.process.returncode
            raise AssertionError(f"{self.name} exited with {code}:\n{self.output()}")
        self.rpc(self.probe_method)
        return True

    probe_method = "getinfo"

    def rpc(self, method: str, *params: Any) -> Any:
        """Call the daemon directly; raises AssertionError with its error."""
        credentials = self.credentials()
        if credentials is None:
            raise AssertionError(f"{self.name} has no credentials yet")
        reply = httpx.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
            auth=credentials,
            timeout=60,
        )
        body = reply.json()
        if body.get("error"):
            raise AssertionError(f"{method}{list(params)}: {body['error']}")
        return body["result"]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class DevnetProcess(RpcProcess):
    name = "devnet"
    probe_method = "getblockcount"

    def __init__(self, data_dir: Path, port: int | None = None, nodes: int = 1) -> None:
        self.nodes = self.ports = nodes  # endpoint k answers on port + k - 1
        super().__init__(data_dir, port)

    @property
    def conf_path(self) -> Path:
        """The first endpoint's flux.conf (`D/flux.conf`, or `D/node-1/` with several)."""
        endpoint_dir = self.data_dir if self.nodes == 1 else self.data_dir / "node-1"
        return endpoint_dir / "flux.conf"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "fluxos.devnet", "--data-dir", str(self.data_dir),
            "--rpc-port", str(self.port), "--nodes", str(self.nodes),
        ]  # fmt: skip

    def credentials(self) -> tuple[str, str] | None:
        if not self.conf_path.is_file():
            return None
        conf = FluxConf.read(self.conf_path)
        if conf.get("rpcport") != str(self.port):
            return None
        return conf.get("rpcuser") or "", conf.get("rpcpassword") or ""


class BenchProcess(RpcProcess):
    name = "bench"
    probe_method = "getstatus"

    def __init__(self, data_dir: Path, port: int | None = None, flux_conf: Path | None = None):
        super().__init__(data_dir, port)
        self.flux_conf = flux_conf

    def command(self) -> list[str]:
        argv = [
            sys.executable, "-m", "fluxos.bench", "--data-dir", str(self.data_dir),
            "--rpc-port", str(self.port), "--assume-tier", "cumulus",
            "--cpu-seconds", "0.5", "--write-mb", "16", "--write-seconds", "0.5",
        ]  # fmt: skip
        if self.flux_conf is not None:
            argv += ["--flux-conf", str(self.flux_conf)]
        return argv

    def credentials(self) -> tuple[str, str]:
        return BENCH_USER, BENCH_PASSWORD


class Admin:
    """A fresh ZelID to configure as a node's owner, and its login on that node."""

    def __init__(self) -> None:
        self.zelid, self._wif = new_bitcoin_key()

    def login(self, node_url: str) -> dict[str, str]:
        """Log in to `node_url`; the headers that carry the session."""
        credentials = login(node_url, bitcoin_signer(self._wif))
        return {"zelidauth": credentials.header_json()}


def answers(node: NodeProcess) -> bool:
    """Whether a node started with `start(wait=False)` serves yet (fails if it exited)."""
    assert node.process is not None
    if node.process.poll() is not None:
        raise AssertionError(f"node exited with {node.process.returncode}:\n{node.output()}")
    return httpx.get(f"{node.url}/flux/version", timeout=2).status_code == 200
