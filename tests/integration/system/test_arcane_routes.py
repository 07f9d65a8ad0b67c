"""The ArcaneOS routes over HTTP on a running node: plain HTTP is refused first, as
upstream's requireHttps does; the later refusals are checked on the rule itself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fluxos.errors import FluxError
from fluxos.system.arcane import check_arcane_request
from tests.support.fluxnodes import FluxnodeRegistry
from tests.support.network import InProcessNode


async def test_arcane_routes_need_https(tmp_path: Path) -> None:
    node = InProcessNode(tmp_path / "node", FluxnodeRegistry())
    await node.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            challenge = await client.get(f"{node.url}/arcane/authchallenge")
            sync = await client.post(
                f"{node.url}/arcane/configsync", json={"challenge": "c", "configData": {}}
            )
    finally:
        await node.stop()
    for reply in (challenge, sync):
        assert reply.status_code == 403
        assert reply.json() == {
            "status": "error",
            "data": {
                "code": 403,
                "name": "ForbiddenProtocol",
                "message": "HTTPS required for ArcaneOS authentication endpoints",
            },
        }


@pytest.mark.parametrize(
    ("environ", "status", "message"),
    [
        ({}, 501, "This endpoint is only available on ArcaneOS nodes"),
        ({"FLUXOS_PATH": "/usr/lib/fluxos"}, 502, "flux-configd not available"),
    ],
)
def test_over_https_the_os_then_flux_configd_decide(
    environ: dict[str, str], status: int, message: str
) -> None:
    with pytest.raises(FluxError) as refused:
        check_arcane_request(True, environ)
    assert (refused.value.http_status, refused.value.message) == (status, message)
