"""`python -m fluxos.devnet` as a child process, and a blocking JSON-RPC client for tests
that drive it from synchronous code (next to a `NodeProcess`)."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from fluxos.chain.fluxconf import FluxConf
from tests.support.processes import wait_until


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SyncRpc:
    """JSON-RPC over HTTP with basic auth, blocking (tests only)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        self._http = httpx.Client(auth=(user, password), timeout=300)
        self._ids = itertools.count()

    def call(self, method: str, *params: Any) -> Any:
        body = self._http.post(
            self.url, json={"id": next(self._ids), "method": method, "params": list(params)}
        ).json()
        if body.get("error"):
            raise RpcFailure(body["error"]["code"], body["error"]["message"])
        return body["result"]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Results in order; a failed call raises (tests expect every call to work)."""
        if not calls:
            return []
        payload = [{"id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
        replies = sorted(self._http.post(self.url, json=payload).json(), key=lambda r: r["id"])
        for reply in replies:
            if reply.get("error"):
                raise RpcFailure(reply["error"]["code"], reply["error"]["message"])
        return [reply["result"] for reply in replies]

    def close(self) -> None:
        self._http.close()


class DevnetProcess:
    """A devnet with `nodes` endpoints on free ports; `conf_path(i)` is endpoint i's flux.conf."""

    def __init__(self, data_dir: Path, nodes: int = 1) -> None:
        self.data_dir = data_dir
        self.nodes = nodes
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._clients: list[SyncRpc] = []

    def conf_path(self, index: int = 0) -> Path:
        return self.data_dir if self.nodes == 1 else self.data_dir / f"node-{index + 1}"

    def start(self) -> DevnetProcess:
        command = [
            sys.executable, "-m", "fluxos.devnet", "--data-dir", str(self.data_dir),
            "--rpc-port", "0", "--nodes", str(self.nodes),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._clients = [
            wait_until(lambda i=i: self._connect(i), timeout=120) for i in range(self.nodes)
        ]
        return self

    def _connect(self, index: int) -> SyncRpc | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"devnet exited with {self.process.returncode}: {self.output()}")
        path = self.conf_file(index)
        if not path.exists():
            return None
        conf = FluxConf.read(path)
        port = conf.get("rpcport")
        if not port or port == "0":
            return None
        client = SyncRpc(
            f"http://127.0.0.1:{port}/", conf.get("rpcuser") or "", conf.get("rpcpassword") or ""
        )
        try:
            client.call("getblockcount")
        except (httpx.HTTPError, RpcFailure):
            client.close()
            return None
        return client

    def conf_file(self, index: int = 0) -> Path:
        return self.conf_path(index) / "flux.conf"

    def rpc(self, index: int = 0) -> SyncRpc:
        return self._clients[index]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
