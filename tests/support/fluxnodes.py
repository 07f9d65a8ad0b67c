"""A fluxnode registry made in the test, standing in for fluxd's deterministic list.

Keys are real secp256k1 keys and every message is really signed and verified; only the
chain that would normally confirm the nodes is replaced by this list (fluxd is outside
the process). `source(address)` is the `NodeListSource` one node sees.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fluxos.crypto import PrivateKey


@dataclass
class RegisteredNode:
    address: str
    key: PrivateKey
    collateral: str
    added_height: int

    @property
    def pubkey(self) -> str:
        return self.key.public_key.hex()

    def entry(self) -> dict[str, Any]:
        txhash = self.collateral[len("COutPoint(") : len("COutPoint(") + 64]
        ip = self.address.removesuffix(":16127")
        return {
            "collateral": self.collateral,
            "txhash": txhash,
            "outidx": "0",
            "ip": ip,
            "network": "ipv4",
            "added_height": self.added_height,
            "confirmed_height": self.added_height + 2,
            "last_confirmed_height": self.added_height + 2,
            "last_paid_height": 0,
            "tier": "CUMULUS",
            "payment_address": "t1devnet",
            "pubkey": self.pubkey,
            "activesince": "1700000000",
            "lastpaid": "0",
            "amount": "1000.00",
            "rank": 0,
        }


@dataclass
class FluxnodeRegistry:
    """The list every node's fluxd would report; mutable so tests can add or drop nodes."""

    nodes: dict[str, RegisteredNode] = field(default_factory=dict)
    height: int = 100

    def register(self, address: str, key: PrivateKey | None = None) -> RegisteredNode:
        key = key or PrivateKey.generate(compressed=True)
        txid = hashlib.sha256(address.encode()).hexdigest()
        node = RegisteredNode(address, key, f"COutPoint({txid}, 0)", len(self.nodes) + 1)
        self.nodes[address] = node
        self.height += 1
        return node

    def drop(self, address: str) -> None:
        self.nodes.pop(address, None)
        self.height += 1

    def source(self, address: str) -> RegistrySource:
        return RegistrySource(self, address)


class RegistrySource:
    """`NodeListSource` of the fluxd behind the node at `address`."""

    def __init__(self, registry: FluxnodeRegistry, address: str) -> None:
        self.registry = registry
        self.address = address

    async def deterministic_list(self) -> list[dict[str, Any]]:
        return [node.entry() for node in self.registry.nodes.values()]

    async def node_status(self) -> dict[str, Any]:
        node = self.registry.nodes.get(self.address)
        if node is None:
            return {"status": "STARTED"}
        entry = node.entry()
        return {
            "status": "CONFIRMED",
            "collateral": entry["collateral"],
            "txhash": entry["txhash"],
            "outidx": "0",
            "ip": self.address,
            "network": "ipv4",
            "added_height": entry["added_height"],
            "confirmed_height": entry["confirmed_height"],
            "tier": "CUMULUS",
            "pubkey": node.pubkey,
        }

    async def block_height(self) -> int:
        return self.registry.height
