"""Peer exchange (p2p.md §10.1): what our peers say they are connected to, and telling
them what we are connected to.

Receiving: one entry per reporter (at most 100 reporters), each a set of outbound and a
set of inbound `ip:port` keys. A full exchange replaces the reporter's entry with the
first 60 valid keys of each direction; updates apply only after a full exchange, adds
stop at 120 keys, removals always apply. Sending: a new peer that advertised
`peerExchange` gets our other peers at once; connects and disconnects are batched for
2 s into one `peerUpdate` (a key added and removed in the window cancels out). We speak
the JSON forms only: we advertise no `binaryMessages`, so no peer sends us 0x10/0x11.

Used for `/flux/topology` and the network-health diagnosis, never for peer selection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fluxos.network.socketaddress import ALLOWED_PORTS, is_routable

if TYPE_CHECKING:
    from fluxos.network.peers import Peer

log = logging.getLogger(__name__)

CAPABILITY = "peerExchange"
MAX_PEERS_PER_DIRECTION = 60
MAX_REPORTERS = 100
UPDATE_DEBOUNCE_SECONDS = 2.0


@dataclass
class Reported:
    """One reporter's view of its own connections."""

    outbound: set[str] = field(default_factory=set)
    inbound: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.outbound) + len(self.inbound)

    def sees(self, key: str) -> bool:
        return key in self.outbound or key in self.inbound


class PeerTopology:
    """The reporters' entries, and the valid-key rule they are filtered by."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self._allow_private = allow_private
        self._entries: dict[str, Reported] = {}

    def valid_key(self, key: object) -> bool:
        """`ip:port` with an allowed API port and (outside a devnet) a routable IPv4."""
        if not isinstance(key, str) or ":" not in key:
            return False
        ip, _, port = key.rpartition(":")
        if not port.isdigit() or int(port) not in ALLOWED_PORTS:
            return False
        if self._allow_private:
            return ip.count(".") == 3 and all(p.isdigit() and int(p) < 256 for p in ip.split("."))
        return is_routable(ip)

    def _first_valid(self, keys: object) -> set[str]:
        if not isinstance(keys, list):
            return set()
        return {key for key in keys[:MAX_PEERS_PER_DIRECTION] if self.valid_key(key)}

    def exchange(self, reporter: str, outbound: object, inbound: object) -> bool:
        """A full list from `reporter`; False when it was not kept (bad shape, too many
        reporters)."""
        if not isinstance(outbound, list) or not isinstance(inbound, list):
            log.info("peer %s: peerExchange without outbound/inbound lists; ignored", reporter)
            return False
        if reporter not in self._entries and len(self._entries) >= MAX_REPORTERS:
            log.debug("peer %s: peerExchange ignored, %d reporters kept", reporter, MAX_REPORTERS)
            return False
        self._entries[reporter] = Reported(self._first_valid(outbound), self._first_valid(inbound))
        return True

    def update(self, reporter: str, add_outbound: object, add_inbound: object, rm: object) -> bool:
        """An incremental change from `reporter`; ignored before its first full list."""
        entry = self._entries.get(reporter)
        if entry is None:
            log.debug("peer %s: peerUpdate before any peerExchange; ignored", reporter)
            return False
        limit = 2 * MAX_PEERS_PER_DIRECTION
        for keys, into in ((add_outbound, entry.outbound), (add_inbound, entry.inbound)):
            for key in keys if isinstance(keys, list) else ():
                if len(entry) >= limit:
                    break
                if self.valid_key(key):
                    into.add(key)
        for key in rm if isinstance(rm, list) else ():
            if isinstance(key, str):
                entry.outbound.discard(key)
                entry.inbound.discard(key)
        return True

    def forget(self, reporter: str) -> None:
        self._entries.pop(reporter, None)

    def entry(self, reporter: str) -> Reported | None:
        return self._entries.get(reporter)

    def known_peers(self) -> set[str]:
        known: set[str] = set()
        for entry in self._entries.values():
            known |= entry.outbound | entry.inbound
        return known

    def view(self) -> dict[str, Any]:
        """`/flux/topology`."""
        return {
            "reporters": len(self._entries),
            "knownPeers": len(self.known_peers()),
            "topology": {
                reporter: {"outbound": sorted(entry.outbound), "inbound": sorted(entry.inbound)}
                for reporter, entry in self._entries.items()
            },
        }


def full_exchange(peer: Peer, others: Iterable[Peer]) -> str:
    """The JSON `peerExchange` frame telling `peer` about every other peer of ours."""
    outbound: list[str] = []
    inbound: list[str] = []
    for other in others:
        if other.key == peer.key:
            continue
        (outbound if other.direction.value == "outbound" else inbound).append(other.key)
    return json.dumps({"type": "peerExchange", "outbound": outbound, "inbound": inbound})


class ExchangeSender:
    """Batches our own connects and disconnects into `peerUpdate` frames (§10.1)."""

    def __init__(self, peers: Iterable[Peer] | Any, *, debounce: float = UPDATE_DEBOUNCE_SECONDS):
        self._peers = peers  # the live peer table (iterable of Peer)
        self._debounce = debounce
        self._added_out: set[str] = set()
        self._added_in: set[str] = set()
        self._removed: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None

    def connected(self, peer: Peer) -> None:
        if CAPABILITY in peer.capabilities:
            peer.send(full_exchange(peer, self._peers))
        (self._added_out if peer.direction.value == "outbound" else self._added_in).add(peer.key)
        self._removed.discard(peer.key)
        self._schedule()

    def disconnected(self, peer: Peer, code: int | None = None) -> None:
        self._removed.add(peer.key)
        self._added_out.discard(peer.key)
        self._added_in.discard(peer.key)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a unit test driving the table by hand): nothing to send
        self._timer = loop.call_later(self._debounce, self.flush)

    def flush(self) -> int:
        """Send the batched change to every capable peer; how many frames were queued."""
        self._timer = None
        message: dict[str, Any] = {"type": "peerUpdate"}
        if self._added_out:
            message["addOutbound"] = sorted(self._added_out)
        if self._added_in:
            message["addInbound"] = sorted(self._added_in)
        if self._removed:
            message["rm"] = sorted(self._removed)
        self._added_out.clear()
        self._added_in.clear()
        self._removed.clear()
        if len(message) == 1:
            return 0
        text = json.dumps(message)
        return sum(1 for peer in self._peers if CAPABILITY in peer.capabilities and peer.send(text))

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
