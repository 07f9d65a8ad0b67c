"""A client for one daemon (fluxd or fluxbenchd): allow-listed methods, bounded
concurrency, optional answer caches, and an endpoint that can change while the node runs
(the embedded devnet is only known once it has started; a restarted one may move).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fluxos.chain.rpccache import RpcCaches
from fluxos.errors import DaemonUnavailable, FluxError
from fluxos.jsonrpc import JsonRpcClient, RpcError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RpcEndpoint:
    """Where a daemon answers JSON-RPC and with which HTTP Basic credentials."""

    url: str
    user: str
    password: str = ""

    def __repr__(self) -> str:  # never print the password
        return f"RpcEndpoint({self.url!r}, user={self.user!r})"


class DaemonClient:
    """Calls one daemon. Methods are lower-cased and must be on `methods`.

    With `concurrency`, at most that many calls are in flight (others queue, batches
    included; the RPC transport enforces it, see `fluxos.rpctransport`); with
    `caches`, answers the cache policy allows are served again (`use_cache=False` skips
    it). Until an endpoint is configured every call raises `DaemonUnavailable`.
    """

    def __init__(
        self,
        name: str,
        methods: frozenset[str],
        *,
        timeout: float,
        endpoint: RpcEndpoint | None = None,
        concurrency: int | None = None,
        caches: RpcCaches | None = None,
    ) -> None:
        self.name = name
        self.methods = methods
        self.timeout = timeout
        self.caches = caches
        self.concurrency = concurrency
        self._endpoint: RpcEndpoint | None = None
        self._rpc: JsonRpcClient | None = None
        self._retired: list[JsonRpcClient] = []
        self._unconfigured_reason = f"{name} is not configured"
        # (daemon, method, seconds, error kind or None) after every call (the node's metrics)
        self.observer: Callable[[str, str, float, str | None], None] | None = None
        if endpoint is not None:
            self.configure(endpoint)

    @property
    def endpoint(self) -> RpcEndpoint | None:
        return self._endpoint

    def configure(self, endpoint: RpcEndpoint | None, reason: str = "") -> None:
        """Point the client at `endpoint` (None: calls fail with `reason` until reconfigured)."""
        if reason:
            self._unconfigured_reason = reason
        if endpoint == self._endpoint and (endpoint is None or self._rpc is not None):
            return
        if self._rpc is not None:
            self._retired.append(self._rpc)  # calls in flight finish on the old client
        self._endpoint = endpoint
        self._rpc = (
            JsonRpcClient(
                endpoint.url,
                endpoint.user,
                endpoint.password,
                timeout=self.timeout,
                max_in_flight=self.concurrency,
            )
            if endpoint is not None
            else None
        )
        if self.caches is not None:
            self.caches.clear()
        log.info("%s RPC endpoint: %s", self.name, endpoint.url if endpoint else reason or "none")

    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any:
        """Call `method` with positional `params` and return fluxd's result.

        Raises `RpcError` for the daemon's own errors, `DaemonUnavailable` when it cannot
        be reached, `FluxError("Invalid Method: …")` for a method off the allow-list.
        """
        name = method.lower()
        if name not in self.methods:
            raise FluxError(f"Invalid Method: {method}")
        args = list(params)
        if use_cache and self.caches is not None:
            hit, result = self.caches.get(name, args)
            if hit:
                return result
        started = time.perf_counter()
        try:
            client = self._client()
            result = await self._unreachable_named(client.call(name, *args))
        except FluxError as error:
            if self.observer is not None:
                kind = "daemon" if isinstance(error, RpcError) else "unavailable"
                self.observer(self.name, name, time.perf_counter() - started, kind)
            raise
        if self.observer is not None:
            self.observer(self.name, name, time.perf_counter() - started, None)
        if self.caches is not None:
            self.caches.put(name, args, result)
        return result

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one request (no cache); each element is a result or
        an `RpcError` instance."""
        for method, _params in calls:
            if method.lower() not in self.methods:
                raise FluxError(f"Invalid Method: {method}")
        lowered = [(m.lower(), p) for m, p in calls]
        return await self._client().batch(lowered)

    def _client(self) -> JsonRpcClient:
        if self._rpc is None:
            raise DaemonUnavailable(self._unconfigured_reason, code="ECONNREFUSED")
        return self._rpc

    async def _unreachable_named(self, call: Awaitable[Any]) -> Any:
        """`call`'s result; an unreachable daemon's error names the daemon and its URL."""
        try:
            return await call
        except DaemonUnavailable as error:
            url = self._endpoint.url if self._endpoint else "?"
            detail = str(error.__cause__ or "") or error.message
            raise DaemonUnavailable(
                f"{self.name} is not reachable at {url} ({error.code}: {detail})", code=error.code
            ) from error

    async def aclose(self) -> None:
        for client in [*self._retired, *([self._rpc] if self._rpc else [])]:
            await client.aclose()
        self._retired.clear()
