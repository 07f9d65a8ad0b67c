"""Tunable numbers of the peer network, with upstream's values as defaults (p2p.md §4, §12).

A devnet (`Settings.development`) runs every node on loopback addresses of one machine:
there loopback peers are valid, diversity is counted per IP instead of per /16, and
discovery runs every few seconds so a cluster forms quickly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fluxos.config import Settings


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """Peer targets, timings and limits."""

    min_outgoing: int = 8
    min_incoming: int = 4
    min_unique_ips_outgoing: int = 7
    min_unique_ips_incoming: int = 3
    outgoing_target: int = 14  # random outbound dials continue below this …
    outgoing_unique_ip_target: int = 9  # … or below this many distinct IPs
    incoming_target: int = 12
    incoming_unique_ip_target: int = 5
    random_iterations: int = 100
    discovery_interval: float = 60.0
    discovery_retry_interval: float = 120.0
    connection_delay: float = 0.5
    handshake_timeout: float = 10.0
    ping_interval: float = 15.0
    max_missed_pongs: int = 3
    bad_message_threshold: float = 5.0
    bad_message_window: float = 600.0
    unknown_origin_weight: float = 0.25  # a message whose signer owns no listed node
    duplicate_close_delay: float = 1.0
    backoff_ladder: tuple[float, ...] = (120.0, 300.0, 600.0, 900.0)
    unstable_disconnects: int = 5
    unstable_window: float = 7200.0
    max_reconnect_attempts: int = 3
    list_refresh_min_interval: float = 30.0
    height_poll_interval: float = 10.0
    status_poll_interval: float = 30.0
    dos_check_interval: float = 60.0
    gossip_cache_size: int = 20_000
    gossip_cache_seconds: float = 300.0
    send_queue_limit: int = 10_000
    max_frame_bytes: int = 32 * 1024 * 1024
    allow_private_peers: bool = False
    diversity_by_ip: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkParams:
        base = cls()
        outgoing = max(settings.outgoing_peer_target, settings.min_outgoing_peers)
        incoming = max(settings.incoming_peer_target, settings.min_incoming_peers)
        params = cls(
            min_outgoing=settings.min_outgoing_peers,
            min_incoming=settings.min_incoming_peers,
            # upstream wants 7 distinct IPs of 8 outbound, 3 of 4 inbound: scale with the minimum
            min_unique_ips_outgoing=min(
                base.min_unique_ips_outgoing, max(1, settings.min_outgoing_peers - 1)
            ),
            min_unique_ips_incoming=min(
                base.min_unique_ips_incoming, max(1, settings.min_incoming_peers - 1)
            ),
            outgoing_target=outgoing,
            incoming_target=incoming,
            outgoing_unique_ip_target=min(base.outgoing_unique_ip_target, outgoing),
            incoming_unique_ip_target=min(base.incoming_unique_ip_target, incoming),
        )
        return params.for_devnet() if settings.development else params

    def for_devnet(self) -> NetworkParams:
        """Loopback peers allowed, per-IP diversity, fast discovery and list refresh."""
        return replace(
            self,
            allow_private_peers=True,
            diversity_by_ip=True,
            discovery_interval=3.0,
            discovery_retry_interval=2.0,
            connection_delay=0.02,
            ping_interval=5.0,
            duplicate_close_delay=0.2,
            backoff_ladder=(5.0, 10.0, 20.0, 30.0),
            list_refresh_min_interval=2.0,
            height_poll_interval=2.0,
            status_poll_interval=2.0,
            dos_check_interval=10.0,
        )

    def max_inbound(self, node_count: int) -> float:
        """Inbound capacity: max(4·minIncoming, min(N/160, 9·minIncoming)) (§4.2)."""
        return max(4 * self.min_incoming, min(node_count / 160, 9 * self.min_incoming))
