"""The method table of one endpoint: every RPC group's commands (and fluxd's zel* aliases),
each wrapped to run on the engine's chain thread. A new fluxd RPC is one method in a group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from fluxos.devnet.rpc.addressindex import AddressIndexRpc
from fluxos.devnet.rpc.blockchain import BlockchainRpc
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.control import ControlRpc
from fluxos.devnet.rpc.fluxnode import ALIASES as FLUXNODE_ALIASES
from fluxos.devnet.rpc.fluxnode import FluxnodeRpc
from fluxos.devnet.rpc.mining import MiningRpc
from fluxos.devnet.rpc.network import NetworkRpc
from fluxos.devnet.rpc.rawtransactions import RawTransactionsRpc
from fluxos.devnet.rpc.shielded import shielded_methods
from fluxos.devnet.rpc.utilities import UtilRpc
from fluxos.devnet.rpc.wallet import WalletRpc
from fluxos.devnet.rpc.wallethistory import WalletHistoryRpc
from fluxos.devnet.rpc.walletkeys import WalletKeysRpc


class RpcGroup(Protocol):
    category: str
    commands: tuple[str, ...]


GROUPS: tuple[Callable[[RpcContext], Any], ...] = (
    AddressIndexRpc,
    BlockchainRpc,
    ControlRpc,
    FluxnodeRpc,
    MiningRpc,
    NetworkRpc,
    RawTransactionsRpc,
    UtilRpc,
    WalletRpc,
    WalletHistoryRpc,
    WalletKeysRpc,
)


def sync_methods(ctx: RpcContext) -> tuple[dict[str, Callable[..., Any]], dict[str, list[str]]]:
    """name → bound method, and category → command names (for `help`)."""
    methods: dict[str, Callable[..., Any]] = {}
    categories: dict[str, list[str]] = {}
    control: ControlRpc | None = None
    for group_class in GROUPS:
        group = group_class(ctx)
        if isinstance(group, ControlRpc):
            control = group
        for name in group.commands:
            methods[name] = getattr(group, name)
            categories.setdefault(group.category, []).append(name)
    for alias, target in FLUXNODE_ALIASES.items():
        methods[alias] = methods[target]
        categories["Fluxnode"].append(alias)
    shielded = shielded_methods()
    methods.update(shielded)
    categories["Wallet"].extend(shielded)
    if control is not None:
        control.attach(methods, categories)
    return methods, categories


def async_methods(ctx: RpcContext) -> dict[str, Callable[..., Any]]:
    """The table for JsonRpcServer: each call hops to the chain thread."""
    methods, _ = sync_methods(ctx)
    return {name: _on_chain_thread(ctx, fn) for name, fn in methods.items()}


def _on_chain_thread(ctx: RpcContext, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def handler(*params: Any) -> Any:
        return await ctx.engine.call(fn, *params)

    return handler
