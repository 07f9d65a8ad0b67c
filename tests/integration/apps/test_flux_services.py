"""The Flux services client against a local HTTP server standing in for GitHub raw files,
stats.runonflux.io, viprates and CoinGecko (the internet is not reachable here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fluxos.apps.errors import ServiceUnavailable
from fluxos.apps.fluxservices import FAILURE_TTL, RATE_TTL, FluxServices, FluxServiceUrls
from fluxos.apps.params import MAINNET
from fluxos.apps.pricing import MarketplaceApp
from fluxos.apps.quotes import PriceQuoter
from fluxos.clock import ManualClock
from tests.support.processes import free_port
from tests.support.servers import serving
from tests.unit.apps.spec_samples import seed_spec


class Internet:
    """Documents by path; tests change them and count the requests."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {
            "/helpers/blockedrepositories.json": ["evilcorp", "bad/image:latest", 7],
            "/helpers/vettedrepositories.json": ["goodcorp"],
            "/helpers/repositories.json": ["runonflux", "yurinnick/folding-at-home"],
            "/stats/apps/getappspecsusdprice": {
                "status": "success",
                "data": dict(MAINNET.usd_price.to_json(), cpu=0.3, multiplier=2),
            },
            "/stats/marketplace/listapps": {
                "status": "success",
                "data": [{"name": "blockbook", "multiplier": 3}, {"nameless": True}],
            },
            "/rates": [
                [{"code": "EUR", "rate": 1}, {"code": "USD", "rate": 60_000}],
                {"FLUX": 1e-5},
            ],
            "/coingecko": {"zelcash": {"usd": 0.42}},
        }
        self.hits: list[str] = []

        async def serve(request: Request) -> Response:
            self.hits.append(request.url.path)
            document = self.documents.get(request.url.path)
            if document is None:
                return PlainTextResponse("gone", status_code=404)
            if isinstance(document, Response):
                return document
            return JSONResponse(document)

        self.app = Starlette(routes=[Route("/{path:path}", serve)])


@pytest.fixture
def internet() -> Iterator[tuple[Internet, str]]:
    stand_in = Internet()
    with serving(stand_in.app) as url:
        yield stand_in, url


def urls(base: str, **changes: str) -> FluxServiceUrls:
    values = {
        "helpers": f"{base}/helpers",
        "stats": f"{base}/stats",
        "rates": f"{base}/rates",
        "coingecko": f"{base}/coingecko",
    }
    values.update(changes)
    return FluxServiceUrls(**values)


async def test_lists_tables_and_rates(internet: tuple[Internet, str]) -> None:
    stand_in, base = internet
    services = FluxServices(urls(base), clock=ManualClock())
    try:
        assert await services.blocked_repositories() == ["evilcorp", "bad/image:latest"]
        assert await services.vetted_repositories() == ["goodcorp"]
        assert await services.whitelisted_repositories() == [
            "runonflux",
            "yurinnick/folding-at-home",
        ]
        entry = await services.usd_price_table()
        assert entry is not None
        assert (entry.cpu, entry.multiplier, entry.min_usd_price) == (0.3, 2, 0.99)
        assert await services.marketplace_apps() == [MarketplaceApp("blockbook", 3)]
        assert await services.flux_usd_rate() == pytest.approx(0.6)
        assert "/coingecko" not in stand_in.hits
    finally:
        await services.aclose()


async def test_answers_are_cached_and_failures_retried_soon(internet: tuple[Internet, str]) -> None:
    stand_in, base = internet
    clock = ManualClock()
    services = FluxServices(urls(base), clock=clock)
    try:
        assert await services.flux_usd_rate() == pytest.approx(0.6)
        stand_in.documents["/rates"] = [[{"code": "USD", "rate": 30_000}], {"FLUX": 1e-5}]
        assert await services.flux_usd_rate() == pytest.approx(0.6)  # cached
        clock.advance(RATE_TTL + 1)
        assert await services.flux_usd_rate() == pytest.approx(0.3)

        del stand_in.documents["/helpers/vettedrepositories.json"]
        assert await services.vetted_repositories() is None
        stand_in.documents["/helpers/vettedrepositories.json"] = ["back"]
        assert await services.vetted_repositories() is None  # the failure is cached briefly
        clock.advance(FAILURE_TTL + 1)
        assert await services.vetted_repositories() == ["back"]
    finally:
        await services.aclose()


async def test_rate_falls_back_to_coingecko_then_none(internet: tuple[Internet, str]) -> None:
    stand_in, base = internet
    services = FluxServices(urls(base, rates=f"{base}/missing"), clock=ManualClock())
    try:
        assert await services.flux_usd_rate() == 0.42
    finally:
        await services.aclose()
    stand_in.documents["/coingecko"] = {"zelcash": {}}
    services = FluxServices(urls(base, rates=""), clock=ManualClock())
    try:
        assert await services.flux_usd_rate() is None
    finally:
        await services.aclose()


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ([[{"code": "EUR", "rate": 1}], {"FLUX": 1e-5}], "Unable to get USD rate."),
        ([[{"code": "USD", "rate": 60_000}], {"BTC": 1}], "Unable to get Flux USD Price."),
        ({"unexpected": "shape"}, "Unable to get USD rate."),
    ],
)
async def test_a_viprates_answer_without_usd_or_flux_is_an_error(
    internet: tuple[Internet, str], rates: Any, message: str
) -> None:
    stand_in, base = internet
    stand_in.documents["/rates"] = rates
    services = FluxServices(urls(base), clock=ManualClock())
    try:
        with pytest.raises(ServiceUnavailable, match=message):
            await services.flux_usd_rate()
    finally:
        await services.aclose()


async def test_malformed_and_unreachable_services_answer_none(
    internet: tuple[Internet, str],
) -> None:
    stand_in, base = internet
    stand_in.documents["/stats/apps/getappspecsusdprice"] = {"status": "error", "data": {}}
    stand_in.documents["/stats/marketplace/listapps"] = PlainTextResponse("<html>")
    services = FluxServices(urls(base), clock=ManualClock())
    nowhere = FluxServices(urls(f"http://127.0.0.1:{free_port()}"), clock=ManualClock())
    try:
        assert await services.usd_price_table() is None
        assert await services.marketplace_apps() is None
        assert await nowhere.blocked_repositories() is None
        assert await nowhere.whitelisted_repositories() is None
        assert await nowhere.flux_usd_rate() is None
    finally:
        await services.aclose()
        await nowhere.aclose()


async def test_switched_off_services() -> None:
    services = FluxServices(FluxServiceUrls(), clock=ManualClock())
    try:
        # Flux's lists count as empty (the operator's list still applies), the rest is absent
        assert await services.blocked_repositories() == []
        assert await services.vetted_repositories() == []
        assert await services.whitelisted_repositories() is None
        assert await services.usd_price_table() is None
        assert await services.marketplace_apps() is None
        assert await services.flux_usd_rate() is None
    finally:
        await services.aclose()


async def test_quotes_use_the_live_table_multiplier_and_rate(
    internet: tuple[Internet, str],
) -> None:
    _, base = internet
    services = FluxServices(urls(base), clock=ManualClock())
    live = PriceQuoter(MAINNET, usd=services, rates=services, marketplace=services)
    offline = PriceQuoter(MAINNET)
    try:
        height = MAINNET.latest_fork_height()
        spec = seed_spec()  # "blockbookneurai" starts with the marketplace's "blockbook"
        quoted = await live.quote(spec, height)
        fallback = await offline.quote(spec, height)
        assert quoted["usd"] > fallback["usd"]
        assert quoted["flux"] == round(quoted["usd"] / 0.6 * 0.95, 2)
    finally:
        await services.aclose()
