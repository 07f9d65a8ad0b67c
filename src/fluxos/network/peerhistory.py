"""What happened to the node's connections, for operators (p2p.md §16): a ring buffer of
the last `HISTORY_SIZE` connect and disconnect events (`/flux/peerhistory`) and the peers
that disconnected often (`/flux/unstablenodes`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluxos.network.peers import Peer

HISTORY_SIZE = 1000


def close_code_name(code: int | None) -> str | None:
    from fluxos.network.peers import CloseCode

    try:
        return CloseCode(code).name if code is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HistoryFilter:
    ip: str | None = None  # an IP prefix
    code: int | None = None
    event: str | None = None
    since: int | None = None  # ms
    limit: int | None = None  # the most recent N


class PeerHistory:
    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=size)

    def connected(self, peer: Peer, now_ms: int) -> None:
        self._events.append(
            {
                "timestamp": now_ms,
                "event": "connected",
                "ip": peer.ip,
                "port": str(peer.port),
                "direction": peer.direction.value,
                "source": peer.source.value,
            }
        )

    def disconnected(self, peer: Peer, code: int | None, now_ms: int) -> None:
        self._events.append(
            {
                "timestamp": now_ms,
                "event": "disconnected",
                "ip": peer.ip,
                "port": str(peer.port),
                "direction": peer.direction.value,
                "source": peer.source.value,
                "closeCode": code or None,
                "closeCodeName": close_code_name(code),
                "duration": max(0, now_ms - peer.connected_at_ms),
                "latency": peer.latency_ms,
                "missedPongs": peer.missed_pongs,
                "messagesReceived": peer.messages_received,
                "messagesSent": peer.messages_sent,
                "bytesReceived": peer.bytes_received,
                "bytesSent": peer.bytes_sent,
            }
        )

    def events(self, wanted: HistoryFilter = HistoryFilter()) -> list[dict[str, Any]]:
        """Oldest first, filtered as upstream's `getFilteredHistory`."""
        events = list(self._events)
        if wanted.since:
            events = [e for e in events if e["timestamp"] >= wanted.since]
        if wanted.ip:
            prefix = wanted.ip
            events = [e for e in events if e["ip"].startswith(prefix)]
        if wanted.code:
            events = [e for e in events if e.get("closeCode") == wanted.code]
        if wanted.event:
            events = [e for e in events if e["event"] == wanted.event]
        if wanted.limit and wanted.limit > 0:
            events = events[-wanted.limit :]
        return events

    def __len__(self) -> int:
        return len(self._events)
