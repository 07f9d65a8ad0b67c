"""The bench's probe of the node's API finds a node listening on any address (issue 12:
a node on `--host 127.0.0.2` was reported `flux: disconnected`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.support.servers import serving

from fluxos.bench.fluxapi import HttpFluxApiProbe, probe_address


async def _version(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "success", "data": "8.17.0"})


def test_probe_address_reaches_wildcards_through_loopback() -> None:
    assert probe_address("0.0.0.0") == "127.0.0.1"
    assert probe_address("::") == "[::1]"
    assert probe_address("127.0.0.2") == "127.0.0.2"
    assert probe_address("fd00::5") == "[fd00::5]"
    assert probe_address("[fd00::5]") == "[fd00::5]"


async def test_a_node_on_another_loopback_address_is_connected() -> None:
    app = Starlette(routes=[Route("/flux/version", _version)])
    with serving(app, host="127.0.0.2") as url:
        port = urlsplit(url).port
        assert port is not None
        assert await HttpFluxApiProbe("127.0.0.2", port, timeout=2).reachable()
