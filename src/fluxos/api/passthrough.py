"""The one handler every RPC-backed route runs through, and its registration.

For a row of `fluxos.api.rpcroutes`: bind the request values, build the RPC params, call
fluxd or fluxbenchd through the daemon service, then apply the row's flags (admin-only
fields, `?limit=`, the stored benchmark). fluxd's own errors reach the caller unchanged
(code and message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fluxos.api.routing import Call, FluxRouter
from fluxos.api.rpcroutes import RpcRoute, TipOffset
from fluxos.daemon.service import Daemon, DaemonService
from fluxos.errors import BadParameter
from fluxos.wire.permissions import Permission

_LIMIT = re.compile(r"^[1-9]\d{0,6}$")


DaemonCall = Call[DaemonService]


class RpcPassthrough:
    """The handler for one table row (one instance per row, shared by its paths)."""

    def __init__(self, row: RpcRoute) -> None:
        self.row = row
        self.__doc__ = f"{row.target.value} `{row.rpc}`"

    async def __call__(self, call: DaemonCall) -> Any:
        row = self.row
        daemon = call.service
        params = [
            await _resolve(value, daemon, row.target) for value in row.build_params(call.param)
        ]
        limit = _limit(call) if row.limit else None
        result = await daemon.call(row.target, row.rpc, params, fresh=row.fresh, stops=row.stops)
        if limit is not None and isinstance(result, list):
            result = result[:limit]
        if (
            row.admin_fields
            and isinstance(result, dict)
            and not await call.authorized(Permission.ADMIN)
        ):
            # a copy: the RPC cache shares `result` with every caller
            result = {k: v for k, v in result.items() if k not in row.admin_fields}
        if row.stores_benchmark:
            await daemon.remember_benchmark(result)
        return result


async def _resolve(value: Any, daemon: DaemonService, target: Daemon) -> Any:
    if isinstance(value, TipOffset):
        return await daemon.tip_height(target) + value.blocks
    return value


def _limit(call: DaemonCall) -> int | None:
    """`?limit=N` (1–9999999): keep the first N entries of the list."""
    text = call.request.query_params.get("limit")
    if text in (None, ""):
        return None
    if not _LIMIT.match(text):
        raise BadParameter(f"limit must be a whole number from 1 to 9999999, got {text!r}")
    return int(text)


def register_rows(router: FluxRouter[DaemonService], rows: Iterable[RpcRoute]) -> None:
    """Declare every path of `rows` on `router`: GET, and POST where the row allows it.
    Parameters, permission and cache lifetime come from the route table."""
    for row in rows:
        handler = RpcPassthrough(row)
        summary = f"{row.target.value} RPC {row.rpc}"
        for path in row.paths:
            router.get(path, summary=summary, app_param=None)(handler)
            if row.post:
                router.post(path, summary=summary, app_param=None)(handler)
