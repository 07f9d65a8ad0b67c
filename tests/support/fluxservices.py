"""GitHub's helpers/*.json and Flux's stats and rates servers, served locally (the internet
edge of the apps checks: blocklist, vetted and whitelisted repositories, USD prices)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fluxos.apps.params import MAINNET

WHITELIST = ["runonflux", "flux/busybox", "ghcr.io/runonflux/website"]


class FluxServicesStandIn:
    """GitHub's helpers/*.json and the stats/rates servers, served locally."""

    def __init__(self, blocked: list[str]) -> None:
        self.blocked = blocked
        self.asked: list[str] = []

        async def serve(request: Request) -> JSONResponse:
            path = request.url.path
            self.asked.append(path)
            documents: dict[str, Any] = {
                "/helpers/blockedrepositories.json": self.blocked,
                "/helpers/vettedrepositories.json": [],
                "/helpers/repositories.json": WHITELIST,
                "/stats/apps/getappspecsusdprice": {
                    "status": "success",
                    "data": MAINNET.usd_price.to_json(),
                },
                "/stats/marketplace/listapps": {"status": "success", "data": []},
                "/rates": [[{"code": "USD", "rate": 50_000}], {"FLUX": 0.00001}],
            }
            if path not in documents:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse(documents[path])

        self.app = Starlette(routes=[Route("/{path:path}", serve)])
