"""Minimal wiring to fluxd for the network: its RPC credentials and our fluxnode key from
flux.conf (`settings.fluxd_conf`), and the three calls the network needs.

Kept apart on purpose: the daemon package owns the full fluxd client (config discovery,
caches); this module only lets a node talk to its fluxd until that client is wired in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxos.chain.fluxconf import FluxConf
from fluxos.errors import ConfigError
from fluxos.jsonrpc import JsonRpcClient

MAINNET_RPC_PORT = 16124
TESTNET_RPC_PORT = 26124


@dataclass(frozen=True, slots=True)
class FluxdConfig:
    """What a node reads from flux.conf to reach fluxd and to sign as its fluxnode."""

    rpc_url: str
    rpc_user: str
    rpc_password: str
    node_key_wif: str | None

    @classmethod
    def read(cls, path: Path, *, testnet: bool = False) -> FluxdConfig:
        try:
            conf = FluxConf.read(path)
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"fluxd_conf: cannot read {path}: {error}") from None
        default_port = (
            TESTNET_RPC_PORT if testnet or conf.get("testnet") == "1" else MAINNET_RPC_PORT
        )
        port = conf.get("rpcport") or str(default_port)
        if not port.isdigit():
            raise ConfigError(f"fluxd_conf: rpcport must be a number, got {port!r} in {path}")
        host = conf.get("rpcconnect") or "127.0.0.1"
        return cls(
            rpc_url=f"http://{host}:{port}/",
            rpc_user=conf.get("rpcuser") or "",
            rpc_password=conf.get("rpcpassword") or "",
            node_key_wif=conf.get("zelnodeprivkey") or None,
        )

    def client(self, timeout: float = 10.0) -> JsonRpcClient:
        return JsonRpcClient(self.rpc_url, self.rpc_user, self.rpc_password, timeout=timeout)


class FluxdNodeSource:
    """`NodeListSource` over fluxd's JSON-RPC."""

    def __init__(self, rpc: JsonRpcClient) -> None:
        self.rpc = rpc

    async def deterministic_list(self) -> list[dict[str, Any]]:
        result = await self.rpc.call("viewdeterministicfluxnodelist")
        return (
            [entry for entry in result if isinstance(entry, dict)]
            if isinstance(result, list)
            else []
        )

    async def node_status(self) -> dict[str, Any]:
        result = await self.rpc.call("getfluxnodestatus")
        return result if isinstance(result, dict) else {}

    async def block_height(self) -> int:
        return int(await self.rpc.call("getblockcount"))

    async def aclose(self) -> None:
        await self.rpc.aclose()
