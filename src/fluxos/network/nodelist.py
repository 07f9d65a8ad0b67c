"""The network as fluxd sees it: the deterministic fluxnode list and its indexes (p2p.md §2).

Every peer message is judged by its originator's entry here, and peers are chosen from it.
`NodeListSource` is the small interface to fluxd this package depends on.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fluxos.network.socketaddress import normalize, split


class NodeListSource(Protocol):
    """What the network needs from fluxd (or the devnet)."""

    async def deterministic_list(self) -> list[dict[str, Any]]:
        """`viewdeterministicfluxnodelist`: every confirmed fluxnode."""
        ...

    async def node_status(self) -> dict[str, Any]:
        """`getfluxnodestatus` of our own fluxnode (`status`, `collateral`, `ip`, …)."""
        ...

    async def block_height(self) -> int:
        """`getblockcount`: refresh the list when it moves."""
        ...


@dataclass(frozen=True, slots=True)
class Fluxnode:
    """One list entry, with the fields the network uses; `entry` is fluxd's object."""

    address: str  # normalised "ip:port"
    ip: str
    port: int
    raw_ip: str  # as fluxd gives it
    pubkey: str
    added_height: int
    collateral: str
    entry: Mapping[str, Any]

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Fluxnode | None:
        raw_ip = str(entry.get("ip") or "")
        if not raw_ip:
            return None  # nodes without an address cannot be peers
        address = normalize(raw_ip)
        ip, port = split(address)
        try:
            added = int(entry.get("added_height") or 0)
        except (TypeError, ValueError):
            added = 0
        return cls(
            address=address,
            ip=ip,
            port=port,
            raw_ip=raw_ip,
            pubkey=str(entry.get("pubkey") or ""),
            added_height=added,
            collateral=str(entry.get("collateral") or ""),
            entry=entry,
        )


class FluxnodeList:
    """An immutable snapshot of the list with the lookups the protocol needs."""

    def __init__(self, entries: Iterable[Mapping[str, Any]] = ()) -> None:
        nodes = [node for node in map(Fluxnode.from_entry, entries) if node is not None]
        self.nodes: tuple[Fluxnode, ...] = tuple(nodes)
        self._by_address: dict[str, Fluxnode] = {}
        self._by_pubkey: dict[str, dict[str, Fluxnode]] = {}
        for node in nodes:
            self._by_address[node.address] = node  # last one wins, as upstream
            self._by_pubkey.setdefault(node.pubkey, {})[node.raw_ip] = node
        # fluxd order kept for equal heights: upstream's comparator reduces to a stable sort
        self.sorted_addresses: tuple[str, ...] = tuple(
            node.address for node in sorted(nodes, key=lambda node: node.added_height)
        )
        self._addresses = tuple(self._by_address)

    def __len__(self) -> int:
        return len(self.nodes)

    def at(self, address: str) -> Fluxnode | None:
        return self._by_address.get(normalize(address))

    def entries_at(self, address: str) -> list[Fluxnode]:
        """Every entry at `address` (collision checks need the duplicates)."""
        target = normalize(address)
        return [node for node in self.nodes if node.address == target]

    def owns_node(self, pubkey: str) -> bool:
        return pubkey in self._by_pubkey

    def nodes_of(self, pubkey: str) -> list[Fluxnode]:
        return list(self._by_pubkey.get(pubkey, {}).values())

    def with_collateral(self, collateral: str) -> list[Fluxnode]:
        return [node for node in self.nodes if node.collateral == collateral]

    def random_address(self, rng: random.Random, own_raw_address: str = "") -> str | None:
        """A uniformly random listed address, never our own (upstream's walk, §2)."""
        if not self._addresses:
            return None
        index = rng.randrange(len(self._addresses))
        if self._addresses[index] == own_raw_address and len(self._addresses) > 1:
            index = index - 1 if index > 0 else index + 1
        address = self._addresses[index]
        return None if address == own_raw_address else address
