"""A real devnet on free 127.0.0.1 ports, and JSON-RPC clients for its endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fluxos.devnet.server import Devnet, EndpointInfo
from fluxos.jsonrpc import JsonRpcClient


def client_for(endpoint: EndpointInfo) -> JsonRpcClient:
    return JsonRpcClient(endpoint.url, endpoint.user, endpoint.password, timeout=120)


@pytest.fixture
def connect() -> Callable[[EndpointInfo], JsonRpcClient]:
    """A factory of clients, for tests that start their own devnet."""
    return client_for


@pytest.fixture
async def devnet(tmp_path: Path) -> AsyncIterator[Devnet]:
    """Two plain endpoints (no fluxnodes) over one chain."""
    async with Devnet.open(tmp_path / "devnet", rpc_port=0, nodes=2, fluxnodes=False) as net:
        yield net


@pytest.fixture
async def rpc(devnet: Devnet) -> AsyncIterator[JsonRpcClient]:
    async with client_for(devnet.endpoints[0]) as client:
        yield client


@pytest.fixture
async def rpc2(devnet: Devnet) -> AsyncIterator[JsonRpcClient]:
    async with client_for(devnet.endpoints[1]) as client:
        yield client
