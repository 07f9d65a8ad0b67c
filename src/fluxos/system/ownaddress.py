"""The node's own socket address as the benchmark daemon sees it (`/flux/ip`, system.md §2):
`getbenchmarks.ipaddress`, with `:16127` added to a bare IP; None when unknown. A devnet node
without a benchmark daemon (a `fluxos cluster` node) is given its configured address as the
fallback, so its location and its peers' view of it do not wait for a bench that never runs."""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any, Protocol

from fluxos.errors import FluxError

log = logging.getLogger(__name__)

DEFAULT_PORT = 16127


class _Rpc(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


def socket_address(raw: Any) -> str | None:
    """`ip:port` from a bench `ipaddress` value, None when it is not an address."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    host, port = text, str(DEFAULT_PORT)
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class OwnAddress:
    def __init__(self, fluxbench: _Rpc, fallback: str | None = None) -> None:
        self.fluxbench = fluxbench
        self.fallback = socket_address(fallback)

    async def get(self) -> str | None:
        return await self._from_bench() or self.fallback

    async def _from_bench(self) -> str | None:
        try:
            benchmarks = await self.fluxbench.call("getbenchmarks")
        except FluxError as error:
            log.debug("own address unknown: the benchmark daemon answers %s", error)
            return None
        if isinstance(benchmarks, str):
            try:
                benchmarks = json.loads(benchmarks)
            except ValueError:
                return None
        if not isinstance(benchmarks, dict):
            return None
        return socket_address(benchmarks.get("ipaddress"))
