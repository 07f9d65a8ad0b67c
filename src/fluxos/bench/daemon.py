"""fluxbenchd's JSON-RPC methods over a `Benchmarker`, served by `fluxos.jsonrpc`.

Handler docstrings are written as fluxbench usage lines: the JSON-RPC server answers a
call with the wrong number of parameters with the handler's docstring, as bitcoind-style
daemons answer with the method's help.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fluxos.bench.fluxapi import FluxApiProbe
from fluxos.bench.service import Benchmarker
from fluxos.bench.settings import BENCH_VERSION, RPC_PASSWORD, RPC_USER
from fluxos.bench.signing import parse_confirm_tx, sign_confirm_tx
from fluxos.clock import Clock
from fluxos.crypto.keys import PrivateKey
from fluxos.jsonrpc import JsonRpcServer

log = logging.getLogger(__name__)

STOP_REPLY = "Fluxbench server stopping"
RESTART_REPLY = "Benchmarks will restart in the next couple minutes"

# Sections and usage lines of `help`, in fluxbenchd's layout (seed: /benchmark/help).
HELP_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Benchmarks",
        (
            "getstatus (full_check)",
            "restartnodebenchmarks",
            'signfluxnodetransaction "hexstring"',
            'signzelnodetransaction "hexstring"',
        ),
    ),
    ("Control", ('help ( "command" )', "stop")),
    ("Fluxnode", ("getbenchmarks", "getinfo", "getpublicip")),
)


class BenchRpc:
    """The method table of the bench daemon. `on_stop` is called once `stop` has answered."""

    def __init__(
        self,
        benchmarker: Benchmarker,
        key: PrivateKey,
        flux_api: FluxApiProbe,
        clock: Clock,
        on_stop: Callable[[], None],
    ) -> None:
        self._bench = benchmarker
        self._key = key
        self._flux_api = flux_api
        self._clock = clock
        self._on_stop = on_stop

    def server(self) -> JsonRpcServer:
        """The ASGI JSON-RPC app with fluxbenchd's credentials."""
        return JsonRpcServer(self.methods(), user=RPC_USER, password=RPC_PASSWORD, name="bench")

    def methods(self) -> dict[str, Callable[..., Any]]:
        return {
            "getbenchmarks": self.getbenchmarks,
            "getstatus": self.getstatus,
            "getinfo": self.getinfo,
            "getpublicip": self.getpublicip,
            "help": self.help,
            "stop": self.stop,
            "restartnodebenchmarks": self.restartnodebenchmarks,
            "signzelnodetransaction": self.signzelnodetransaction,
            "signfluxnodetransaction": self.signfluxnodetransaction,
        }

    def getbenchmarks(self) -> dict[str, Any]:
        """getbenchmarks\n\nThe latest benchmark of this machine and the tier it earns."""
        return self._bench.benchmarks()

    async def getstatus(self, full_check: Any = None) -> dict[str, Any]:
        """getstatus (full_check)\n\nDaemon status, benchmark state, and FluxOS reachability."""
        connected = await self._flux_api.reachable()
        return {
            "status": "online",
            "benchmarking": self._bench.benchmarking(),
            "flux": "connected" if connected else "disconnected",
        }

    def getinfo(self) -> dict[str, Any]:
        """getinfo\n\nVersion of this bench and its RPC port."""
        return {"version": BENCH_VERSION, "rpcport": self._bench.settings.rpc_port}

    def getpublicip(self) -> str:
        """getpublicip\n\nThe node's public IP as configured ("" when unknown)."""
        return self._bench.settings.public_ip or ""

    def help(self, command: Any = "") -> str:
        """help ( "command" )\n\nList the commands, or the usage of one."""
        if command in (None, ""):
            return "\n\n".join(
                f"== {title} ==\n" + "\n".join(lines) for title, lines in HELP_SECTIONS
            )
        wanted = str(command).strip().lower()
        for _title, lines in HELP_SECTIONS:
            for line in lines:
                if line.split(" ", 1)[0] == wanted:
                    return line
        return f"help: unknown command: {command}"

    def stop(self) -> str:
        """stop\n\nStop the bench daemon."""
        log.info("stop requested over RPC")
        self._on_stop()
        return STOP_REPLY

    def restartnodebenchmarks(self) -> str:
        """restartnodebenchmarks\n\nMeasure this machine again, in the background."""
        if self._bench.start_measuring():
            log.info("benchmark restart requested over RPC")
        else:
            log.info("benchmark restart requested over RPC while one is running; keeping it")
        return RESTART_REPLY

    def signzelnodetransaction(self, hexstring: Any) -> dict[str, Any]:
        """signzelnodetransaction "hexstring"\n\nFill and sign the benchmark part of a fluxnode
        confirm transaction."""
        tx = parse_confirm_tx(hexstring)
        state = self._bench.signing_state()
        return sign_confirm_tx(tx, self._key, state, int(self._clock.time()))

    def signfluxnodetransaction(self, hexstring: Any) -> dict[str, Any]:
        """signfluxnodetransaction "hexstring"\n\nFill and sign the benchmark part of a fluxnode
        confirm transaction."""
        return self.signzelnodetransaction(hexstring)
