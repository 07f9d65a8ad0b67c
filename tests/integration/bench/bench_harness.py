"""A harness for `python -m fluxos.bench` as a real process on a free loopback port.

(Named apart from other packages' helpers: test directories are not packages.)
"""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fluxos.errors import DaemonUnavailable
from fluxos.jsonrpc import JsonRpcClient, RpcError

USER = "fluxbenchuser"
PASSWORD = "fluxbenchpassword"
# Short runs: these tests check behaviour, not this machine's speed.
QUICK = ["--cpu-seconds", "0.3", "--write-mb", "16", "--write-seconds", "2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], within: float = 90.0, what: str = "condition"
) -> None:
    """Poll `predicate` until it holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {within:g} s waiting for {what}")


class BenchProcess:
    """One bench daemon process; `client()` talks to it with fluxbenchd's credentials."""

    def __init__(self, data_dir: Path, port: int, args: list[str], env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        command = [
            sys.executable, "-m", "fluxos.bench",
            "--data-dir", str(data_dir), "--rpc-port", str(port), *args,
        ]  # fmt: skip
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )

    def client(self, user: str = USER, password: str = PASSWORD) -> JsonRpcClient:
        return JsonRpcClient(self.url, user, password, timeout=10)

    async def call(self, method: str, *params: Any) -> Any:
        async with self.client() as rpc:
            return await rpc.call(method, *params)

    async def answering(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"bench exited with {self.proc.returncode}: {self.output()}")
        try:
            await self.call("getinfo")
        except (DaemonUnavailable, RpcError):
            return False
        return True

    async def measured(self) -> bool:
        if not await self.answering():
            return False
        status = await self.call("getstatus")
        return bool(status["benchmarking"] != "running")

    def wait_exit(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class FluxVersionHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/flux/version":
            body = b'{"status":"success","data":"8.17.0"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass
