"""Shielded (Sprout/Sapling) calls: the devnet has no shielded pool, so each answers with a
clear error naming the call instead of pretending."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fluxos.jsonrpc import RpcError

RPC_MISC_ERROR = -1

SHIELDED_COMMANDS = (
    "z_exportkey", "z_exportviewingkey", "z_exportwallet", "z_getbalance", "z_getmigrationstatus",
    "z_getnewaddress", "z_getoperationresult", "z_getoperationstatus", "z_getpaymentdisclosure",
    "z_gettotalbalance", "z_importkey", "z_importviewingkey", "z_importwallet", "z_listaddresses",
    "z_listoperationids", "z_listreceivedbyaddress", "z_listunspent", "z_mergetoaddress",
    "z_sendmany", "z_setmigration", "z_shieldcoinbase", "z_validateaddress",
    "z_validatepaymentdisclosure", "zcbenchmark", "zcrawjoinsplit", "zcrawkeygen", "zcrawreceive",
    "zcsamplejoinsplit",
)  # fmt: skip


def _unsupported(name: str) -> Callable[..., Any]:
    def handler(*_params: Any) -> Any:
        raise RpcError(
            RPC_MISC_ERROR,
            f"{name} is not supported on the fluxos devnet: it has no shielded pool "
            "(transparent transactions only)",
        )

    handler.__name__ = name
    handler.__doc__ = f"{name} ...\n\nNot supported on the devnet (no shielded pool)."
    return handler


def shielded_methods() -> dict[str, Callable[..., Any]]:
    return {name: _unsupported(name) for name in SHIELDED_COMMANDS}
