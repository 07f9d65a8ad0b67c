"""A multi-node test harness over `fluxos cluster`, in the style of Bitcoin Core's
functional test framework: real node processes on 127.0.0.2…, a real devnet, helpers to
query nodes, log in as their owner, read their logs and wait for conditions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from fluxos.chain.fluxd import FluxdConfig
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity.client import Signer, login
from fluxos.network.cluster import Cluster, ClusterNode, PeerTargets
from tests.support.processes import wait_until

__all__ = ["ClusterHarness", "wait_until"]


class ClusterHarness:
    """Start N nodes (plus optional spare fluxnodes without a node), query and stop them."""

    def __init__(
        self,
        data_dir: Path,
        count: int,
        *,
        spare_fluxnodes: int = 0,
        targets: PeerTargets | None = None,
        docker_hosts: list[str] | None = None,
        runtime: dict[str, Any] | None = None,
    ) -> None:
        self.cluster = Cluster(
            count,
            data_dir,
            fluxnodes=count + spare_fluxnodes,
            targets=targets or PeerTargets(),
            docker_hosts=list(docker_hosts or []),
            runtime=dict(runtime or {}),
        )
        self._auth: dict[int, dict[str, str]] = {}

    def __enter__(self) -> ClusterHarness:
        self.cluster.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.stop()

    # -- nodes -----------------------------------------------------------------------------
    @property
    def nodes(self) -> list[ClusterNode]:
        return self.cluster.nodes

    def node(self, index: int) -> ClusterNode:
        """Node `index`, 1-based as the cluster numbers them."""
        return self.cluster.nodes[index - 1]

    def get(self, index: int, path: str, **kwargs: Any) -> Any:
        response = httpx.get(self.node(index).url + path, timeout=30, **kwargs)
        return response.json()

    def post(self, index: int, path: str, **kwargs: Any) -> Any:
        response = httpx.post(self.node(index).url + path, timeout=30, **kwargs)
        return response.json()

    def admin(self, index: int) -> dict[str, str]:
        """The `zelidauth` header of the owner, logged in to node `index` (cached)."""
        if index not in self._auth:
            owner = self.cluster.owner
            signer = Signer(bitcoin_address(owner.public_key), lambda t: sign_message(t, owner))
            credentials = login(self.node(index).url, signer)
            self._auth[index] = {"zelidauth": credentials.header_json()}
        return self._auth[index]

    def peers(self, index: int) -> dict[str, dict[str, Any]]:
        """Live peers of node `index` (a fresh answer, not the route's 30 s cached one)."""
        answer = self.get(index, "/flux/peers", params={"fresh": time.monotonic_ns()})
        assert answer["status"] == "success", answer
        return {f"{p['ip']}:{p['port']}": p for p in answer["data"]}

    def is_mesh(self, indexes: list[int] | None = None) -> bool:
        chosen = indexes or [node.index for node in self.nodes]
        everyone = {self.node(i).address for i in chosen}
        return all(set(self.peers(i)) >= everyone - {self.node(i).address} for i in chosen)

    def log(self, index: int) -> str:
        return self.node(index).log_path.read_text(errors="replace")

    def log_count(self, index: int, text: str) -> int:
        return sum(1 for line in self.log(index).splitlines() if text in line)

    # -- the chain ---------------------------------------------------------------------------
    def fluxd(self, fluxnode: int) -> FluxdConfig:
        conf = self.cluster.devnet_dir / f"node-{fluxnode}" / "flux.conf"
        return FluxdConfig.read(conf, testnet=False)

    def fluxnode_key(self, fluxnode: int) -> PrivateKey:
        """The key of devnet fluxnode `fluxnode` (1-based), e.g. a spare one with no node."""
        wif = self.fluxd(fluxnode).zelnodeprivkey
        assert wif, f"fluxnode {fluxnode} has no zelnodeprivkey"
        return PrivateKey.from_wif(wif)

    def fluxnode_address(self, fluxnode: int) -> str:
        return f"127.0.0.{fluxnode + 1}:16127"

    def fluxnode_list(self) -> list[dict[str, Any]]:
        conf = self.fluxd(1)
        payload = {"jsonrpc": "1.0", "id": 0, "method": "viewdeterministicfluxnodelist"}
        reply = httpx.post(
            conf.endpoint.url,
            content=json.dumps({**payload, "params": []}),
            auth=(conf.endpoint.user, conf.endpoint.password),
            timeout=10,
        )
        result = reply.json()["result"]
        assert isinstance(result, list)
        return result
