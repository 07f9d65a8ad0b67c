"""fluxd's Control RPCs: getinfo, help, stop."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.params import CLIENT_VERSION, MIN_RELAY_FEE_PER_KB, PROTOCOL_VERSION
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import get_str

log = logging.getLogger(__name__)


class ControlRpc:
    """getinfo, help and stop."""

    category = "Control"
    commands = ("getinfo", "help", "stop")

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx
        self._methods: dict[str, Callable[..., Any]] = {}
        self._categories: dict[str, list[str]] = {}

    def attach(
        self, methods: dict[str, Callable[..., Any]], categories: dict[str, list[str]]
    ) -> None:
        """Give `help` the finished table."""
        self._methods = methods
        self._categories = categories

    def getinfo(self) -> dict[str, Any]:
        """getinfo

        Returns an object containing various state info."""
        wallet = self.ctx.wallet
        peers = len(self.ctx.engine.endpoints) - 1
        return {
            "version": CLIENT_VERSION,
            "protocolversion": PROTOCOL_VERSION,
            "walletversion": 60000,
            "balance": to_coins(wallet.balance()),
            "blocks": self.ctx.chain.height,
            "timeoffset": 0,
            "connections": peers,
            "proxy": "",
            "difficulty": 1.0,
            "testnet": False,
            "keypoololdest": min((k.created for k in wallet.keys.values()), default=0),
            "keypoolsize": len(wallet.pool),
            "paytxfee": to_coins(wallet.fee_per_kb),
            "relayfee": to_coins(MIN_RELAY_FEE_PER_KB),
            "errors": "",
        }

    def help(self, command: Any = "") -> str:
        """help ( "command" )

        List all commands, or get help for a specified command."""
        name = get_str(command)
        if name:
            fn = self._methods.get(name)
            if fn is None:
                return f"help: unknown command: {name}"
            return inspect.getdoc(fn) or name
        lines: list[str] = []
        for category in sorted(self._categories):
            lines.append(f"== {category} ==")
            for cmd in sorted(self._categories[category]):
                doc = inspect.getdoc(self._methods[cmd]) or cmd
                lines.append(doc.splitlines()[0])
            lines.append("")
        return "\n".join(lines).rstrip("\n")

    def stop(self) -> str:
        """stop

        Stop the Flux devnet (every endpoint: they share one process)."""
        log.info("stop requested over RPC on endpoint %d", self.ctx.endpoint.index)
        self.ctx.engine.request_stop()
        return "Flux server stopping"
