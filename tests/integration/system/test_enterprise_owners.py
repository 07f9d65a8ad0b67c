"""/flux/enterpriseappowners over HTTP on a running node whose Flux helpers URL is a local
server standing in for GitHub (the internet is not reachable here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode, eventually
from tests.support.servers import serving

NODE_A = "02" + "a" * 64
NODE_B = "03" + "b" * 64


class Helpers:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.hits = 0

        async def serve(_request: Request) -> Response:
            self.hits += 1
            return JSONResponse(self.document)

        self.app = Starlette(routes=[Route("/helpers/enterprisenodes.json", serve)])


@pytest.fixture
def helpers() -> Iterator[tuple[Helpers, str]]:
    stand_in = Helpers({NODE_A: ["1Alice", "1Bob"], NODE_B: ["1Bob", "1Carol"]})
    with serving(stand_in.app) as url:
        yield stand_in, f"{url}/helpers"


async def test_owners_are_the_union_of_the_published_map(helpers, tmp_path: Path) -> None:
    _stand_in, url = helpers
    node = InProcessNode(tmp_path / "node", FluxnodeRegistry(), flux_helpers_url=url)
    await node.start()
    try:
        kept = node.settings.data_dir / "enterprisenodes.json"
        await eventually(kept.exists)
        reply = await node.get("/flux/enterpriseappowners")
        assert reply == {"status": "success", "data": ["1Alice", "1Bob", "1Carol"]}
        assert json.loads(kept.read_text())[NODE_B] == ["1Bob", "1Carol"]
    finally:
        await node.stop()


async def test_a_malformed_list_keeps_the_last_good_one(helpers, tmp_path: Path) -> None:
    stand_in, url = helpers
    stand_in.document = {NODE_A: ["1Mallory", 7]}  # one bad entry spoils the whole map
    data_dir = tmp_path / "node"
    data_dir.mkdir()
    (data_dir / "enterprisenodes.json").write_text(json.dumps({NODE_A: ["1Dave"]}))
    node = InProcessNode(data_dir, FluxnodeRegistry(), flux_helpers_url=url)
    await node.start()
    try:
        await eventually(lambda: stand_in.hits >= 1)
        reply = await node.get("/flux/enterpriseappowners")
        assert reply == {"status": "success", "data": ["1Dave"]}
        assert json.loads((data_dir / "enterprisenodes.json").read_text()) == {NODE_A: ["1Dave"]}
    finally:
        await node.stop()
