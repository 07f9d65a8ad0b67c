"""`GET /metrics`: the node in Prometheus's text format (prometheus_client).

Counters and histograms the node's code updates as things happen (requests, cache,
fluxd calls), and a collector that reads the rest at scrape time from the services that
already keep it (peers, gossip counters, the explorer, the supervisor's loops). The apps
and sync areas fill `apps_running`, `app_restarts` and `sync_progress` as they land.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from fluxos.system.supervisor import LoopState, LoopStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class ScrapeSources:
    """What the collector reads at scrape time (wired by the node)."""

    peers: Callable[[], tuple[int, int]]  # (outbound, inbound)
    gossip: Callable[[], Any]  # GossipStats
    frames_rate_limited: Callable[[], int]
    explorer_height: Callable[[], int | None]
    daemon_height: Callable[[], int]
    loops: Callable[[], list[LoopStatus]]
    dos_state: Callable[[], float]


class _NodeCollector(Collector):
    def __init__(self, sources: ScrapeSources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        s = self.sources
        outbound, inbound = s.peers()
        peers = GaugeMetricFamily(
            "fluxos_peers", "Connected Flux peers by direction", labels=["direction"]
        )
        peers.add_metric(["outbound"], outbound)
        peers.add_metric(["inbound"], inbound)
        yield peers

        stats = s.gossip()
        received = CounterMetricFamily(
            "fluxos_gossip_received", "Signed peer messages received (before checks)"
        )
        received.add_metric([], stats.received)
        yield received
        relayed = CounterMetricFamily(
            "fluxos_gossip_relayed", "Accepted messages announced to other peers"
        )
        relayed.add_metric([], stats.announced)
        yield relayed
        accepted = CounterMetricFamily(
            "fluxos_gossip_accepted", "Messages that passed every check, by type", labels=["type"]
        )
        for kind, count in sorted(stats.by_type.items()):
            accepted.add_metric([kind], count)
        yield accepted
        dropped = CounterMetricFamily(
            "fluxos_gossip_dropped", "Peer messages dropped, by reason", labels=["reason"]
        )
        for reason, count in (
            ("duplicate", stats.duplicates),
            ("stale", stats.stale),
            ("bad_signature", stats.refused),
            ("unknown_origin", stats.unknown_origin),
            ("rate_limited", s.frames_rate_limited()),
        ):
            dropped.add_metric([reason], count)
        yield dropped

        daemon_height = s.daemon_height()
        explorer = s.explorer_height()
        height = GaugeMetricFamily("fluxos_block_height", "Block heights", labels=["source"])
        height.add_metric(["fluxd"], daemon_height)
        if explorer is not None:
            height.add_metric(["explorer"], explorer)
        yield height
        if explorer is not None:
            lag = GaugeMetricFamily(
                "fluxos_explorer_lag_blocks", "Blocks fluxd has that the explorer has not indexed"
            )
            lag.add_metric([], max(0, daemon_height - explorer))
            yield lag

        dos = GaugeMetricFamily("fluxos_dos_state", "The node's DOS score (100 and up: DOS)")
        dos.add_metric([], s.dos_state())
        yield dos

        state = GaugeMetricFamily(
            "fluxos_loop_state",
            "Background loops: 1 for the state each is in",
            labels=["loop", "state"],
        )
        restarts = CounterMetricFamily(
            "fluxos_loop_restarts",
            "Times a background loop crashed and was restarted",
            labels=["loop"],
        )
        for loop in s.loops():
            for candidate in LoopState:
                state.add_metric([loop.name, str(candidate)], 1 if loop.state is candidate else 0)
            restarts.add_metric([loop.name], loop.restarts)
        yield state
        yield restarts


class NodeMetrics:
    """The node's metrics registry and the instruments other areas update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "fluxos_http_requests",
            "API requests answered, by route family, method and HTTP status",
            ["family", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "fluxos_http_request_duration_seconds",
            "Time to answer an API request, by route family",
            ["family"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "fluxos_response_cache",
            "Response cache lookups of cacheable public routes",
            ["result"],
            registry=self.registry,
        )
        self.rpc_seconds = Histogram(
            "fluxos_rpc_duration_seconds",
            "fluxd / fluxbenchd JSON-RPC call time",
            ["daemon", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rpc_errors = Counter(
            "fluxos_rpc_errors",
            "fluxd / fluxbenchd calls that failed, by kind",
            ["daemon", "kind"],
            registry=self.registry,
        )
        self._cache_children = (self.cache.labels("miss"), self.cache.labels("hit"))
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._rpc_children: dict[tuple[str, str], Any] = {}
        # filled in by the apps runtime and the sync area
        self.apps_running = Gauge(
            "fluxos_apps_running", "App components running on this node", registry=self.registry
        )
        self.app_restarts = Counter(
            "fluxos_app_restarts",
            "App containers restarted by the node",
            ["app"],
            registry=self.registry,
        )
        self.sync_progress = Gauge(
            "fluxos_sync_progress_ratio",
            "Syncthing completion of each app folder (0..1)",
            ["app"],
            registry=self.registry,
        )

    def watch(self, sources: ScrapeSources) -> None:
        self.registry.register(_NodeCollector(sources))

    def observe_request(self, path: str, method: str, status: int, seconds: float) -> None:
        # the labelled children are looked up once per route, method and status: `labels()`
        # costs more than the count itself on a hot route (routes and methods are finite)
        key = (path, method, status)
        children = self._request_children.get(key)
        if children is None:
            family = route_family(path)
            children = (
                self.requests.labels(family, method, str(status)),
                self.request_seconds.labels(family),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_cache(self, hit: bool) -> None:
        """One response cache lookup of a cacheable route."""
        self._cache_children[hit].inc()

    def observe_rpc(self, daemon: str, method: str, seconds: float, error: str | None) -> None:
        child = self._rpc_children.get((daemon, method))
        if child is None:  # methods are allow-listed: a finite set
            child = self._rpc_children[(daemon, method)] = self.rpc_seconds.labels(daemon, method)
        child.observe(seconds)
        if error is not None:
            self.rpc_errors.labels(daemon, error).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_family(path: str) -> str:
    """`/flux/info` → `flux`; the first path segment, which names the API section."""
    segment = path.lstrip("/").split("/", 1)[0].lower()
    return segment or "root"
