"""The fluxd answer caches (spec daemon.md §2.5): blocks and raw transactions for an hour,
chain reads for 20 seconds; errors never.

Upstream kept a transaction fetched from the mempool for an hour with its stale
`confirmations: 0`, and a tip block that a one-block reorg replaced. Here a block or a
verbose transaction is stored only once it is buried (`confirmations` ≥ 2); a raw hex
block is stored only when asked for by hash (its bytes can never change).

Cached results are shared between callers: treat them as read-only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fluxos.chain.rpcmethods import SHORT_CACHED_METHODS
from fluxos.clock import Clock
from fluxos.expiring import ExpiringLru

BLOCK_TTL = 3600.0
BLOCK_ENTRIES = 150
RAW_TX_TTL = 3600.0
RAW_TX_ENTRIES = 300
SHORT_TTL = 20.0
SHORT_ENTRIES = 50
BURIED = 2
_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
_CANONICAL = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
Key = tuple[Any, ...] | str


def cache_key(method: str, params: list[Any]) -> str:
    """The method and its params as canonical JSON (`getblock ["5",2]`)."""
    return method + " " + _CANONICAL.encode(params)


def _key(method: str, params: list[Any]) -> Key:
    """The entry key: a tuple when every param is a string or a whole number (most calls:
    a height, a hash, a verbosity), else the canonical JSON. Booleans and floats take the
    JSON form, or `1`, `1.0` and `True` (equal in Python) would share an entry."""
    for param in params:
        kind = type(param)
        if kind is not str and kind is not int:
            return cache_key(method, params)
    return (method, *params)


def storable(method: str, params: list[Any], result: Any) -> bool:
    """Whether fluxd's `result` for this call may be served again from the cache."""
    if method == "getblock":
        if isinstance(result, dict):
            return _buried(result)
        return isinstance(result, str) and bool(params) and bool(_HASH.match(str(params[0])))
    if method == "getrawtransaction":
        return isinstance(result, dict) and _buried(result)
    return method in SHORT_CACHED_METHODS


def _buried(result: dict[str, Any]) -> bool:
    confirmations = result.get("confirmations")
    return isinstance(confirmations, int) and confirmations >= BURIED


class RpcCaches:
    """Three entry-capped TTL caches; the least recently used entry goes first when one
    is full."""

    def __init__(self, clock: Clock) -> None:
        timer = clock.monotonic
        self._blocks: ExpiringLru[Key, Any] = ExpiringLru(BLOCK_ENTRIES, timer)
        self._raw_txs: ExpiringLru[Key, Any] = ExpiringLru(RAW_TX_ENTRIES, timer)
        self._short: ExpiringLru[Key, Any] = ExpiringLru(SHORT_ENTRIES, timer)

    def _cache_for(self, method: str) -> tuple[ExpiringLru[Key, Any], float]:
        if method == "getblock":
            return self._blocks, BLOCK_TTL
        if method == "getrawtransaction":
            return self._raw_txs, RAW_TX_TTL
        return self._short, SHORT_TTL

    def get(self, method: str, params: list[Any]) -> tuple[bool, Any]:
        """(True, result) on a hit, (False, None) on a miss."""
        return self._cache_for(method)[0].lookup(_key(method, params))

    def put(self, method: str, params: list[Any], result: Any) -> None:
        if storable(method, params, result):
            cache, ttl = self._cache_for(method)
            cache.put(_key(method, params), result, ttl)

    def clear(self) -> None:
        for cache in (self._blocks, self._raw_txs, self._short):
            cache.clear()
