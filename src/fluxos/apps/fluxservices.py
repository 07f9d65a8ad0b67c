"""Flux's public services over HTTP: the curated repository lists (GitHub `helpers/*.json`),
the stats server's USD price table and marketplace, and the FLUX/USD rate.

One object implements every source protocol the app checks and quotes use. A service that
cannot be reached answers None (the callers fall back and log it); answers are cached, and
so are failures, briefly, so an offline node does not wait on every request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from cachetools import TLRUCache

from fluxos import __version__
from fluxos.apps.errors import ServiceUnavailable
from fluxos.apps.params import PriceEntry
from fluxos.apps.pricing import MarketplaceApp
from fluxos.clock import Clock, SystemClock
from fluxos.tls import client_context
from fluxos.wire.jsvalues import is_number

logger = logging.getLogger(__name__)

LIST_TTL = 6 * 3600.0  # upstream caches the block lists for 6 h
USD_TABLE_TTL = 3 * 3600.0
RATE_TTL = 300.0
MARKETPLACE_TTL = 300.0
FAILURE_TTL = 60.0
_MISSING = object()


@dataclass(frozen=True)
class FluxServiceUrls:
    """Where the services live (defaults: `fluxos.config.Settings`); "" turns one off."""

    helpers: str = ""
    stats: str = ""
    rates: str = ""
    coingecko: str = ""


class FluxServices:
    """`RepositoryLists`, `UsdPriceSource`, `FluxRateSource` and `MarketplaceSource` over HTTP.

    Without a helpers URL Flux's lists are taken as empty (the node operator's own
    blocked repositories still apply) and the whitelist is unavailable.
    """

    def __init__(
        self,
        urls: FluxServiceUrls,
        *,
        clock: Clock | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.urls = urls
        self._http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": f"fluxos/{__version__}"},
            transport=transport,
            verify=client_context(),
        )
        self._cache: TLRUCache[str, tuple[float, Any]] = TLRUCache(
            maxsize=64,
            ttu=lambda _key, value, now: now + value[0],
            timer=(clock or SystemClock()).monotonic,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- GitHub helper lists ----------------------------------------------------------
    async def blocked_repositories(self) -> list[str] | None:
        return await self._string_list("blockedrepositories.json")

    async def vetted_repositories(self) -> list[str] | None:
        return await self._string_list("vettedrepositories.json")

    async def whitelisted_repositories(self) -> list[Any] | None:
        """`helpers/repositories.json` as published (served verbatim by the API)."""
        if not self.urls.helpers:
            return None
        document = await self._cached(
            "repositories.json", 30.0, f"{self.urls.helpers}/repositories.json"
        )
        return document if isinstance(document, list) else None

    async def enterprise_node_owners(self) -> Any | None:
        """`helpers/enterprisenodes.json`, fetched afresh (its keeper refreshes every 6 h)."""
        if not self.urls.helpers:
            return None
        return await self._fetch(f"{self.urls.helpers}/enterprisenodes.json")

    async def _string_list(self, name: str) -> list[str] | None:
        if not self.urls.helpers:
            return []
        document = await self._cached(name, LIST_TTL, f"{self.urls.helpers}/{name}")
        if not isinstance(document, list):
            return None
        return [entry for entry in document if isinstance(entry, str)]

    # -- prices -----------------------------------------------------------------------
    async def usd_price_table(self) -> PriceEntry | None:
        if not self.urls.stats:
            return None
        document = await self._cached(
            "usdprice", USD_TABLE_TTL, f"{self.urls.stats}/apps/getappspecsusdprice"
        )
        data = _success_data(document)
        entry = _price_entry(data) if isinstance(data, dict) else None
        if document is not None and entry is None:
            logger.warning("stats USD price table is malformed: %.200r", document)
        return entry

    async def marketplace_apps(self) -> list[MarketplaceApp] | None:
        if not self.urls.stats:
            return None
        document = await self._cached(
            "marketplace", MARKETPLACE_TTL, f"{self.urls.stats}/marketplace/listapps"
        )
        data = _success_data(document)
        if not isinstance(data, list):
            return None
        return [
            MarketplaceApp(str(app["name"]), app.get("multiplier", 1))
            for app in data
            if isinstance(app, dict) and isinstance(app.get("name"), str)
        ]

    async def flux_usd_rate(self) -> float | None:
        """USD per FLUX: viprates (USD per BTC × BTC per FLUX), else CoinGecko, else None.

        Like upstream, a viprates answer without a USD or FLUX entry is an error, not a
        reason to ask CoinGecko.
        """
        if self.urls.rates:
            rates = await self._cached("rates", RATE_TTL, self.urls.rates)
            if rates is not None:
                return _viprates_rate(rates)
        if self.urls.coingecko:
            answer = await self._cached("coingecko", RATE_TTL, self.urls.coingecko)
            coin = answer.get("zelcash") if isinstance(answer, dict) else None
            usd = coin.get("usd") if isinstance(coin, dict) else None
            if isinstance(usd, int | float) and is_number(usd) and usd > 0:
                return float(usd)
        return None

    # -- HTTP -------------------------------------------------------------------------
    async def _cached(self, key: str, ttl: float, url: str) -> Any:
        hit = self._cache.get(key, _MISSING)
        if hit is not _MISSING:
            return hit[1]  # type: ignore[index]
        document = await self._fetch(url)
        self._cache[key] = (ttl if document is not None else FAILURE_TTL, document)
        return document

    async def _fetch(self, url: str) -> Any:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as error:
            logger.warning("%s unreachable (%s: %s)", url, type(error).__name__, error)
            return None
        if response.status_code != 200:
            logger.warning("%s answered HTTP %d", url, response.status_code)
            return None
        try:
            return response.json()
        except ValueError:
            logger.warning("%s answered something that is not JSON", url)
            return None


def _success_data(document: Any) -> Any:
    if isinstance(document, dict) and document.get("status") == "success":
        return document.get("data")
    return None


def _price_entry(data: dict[str, Any]) -> PriceEntry | None:
    required = ("cpu", "ram", "hdd", "minPrice")
    if not all(is_number(data.get(key)) for key in required):
        return None

    def number(key: str, default: float | None) -> Any:
        value = data.get(key)
        return value if is_number(value) else default

    return PriceEntry(
        height=int(number("height", -1)),
        cpu=data["cpu"],
        ram=data["ram"],
        hdd=data["hdd"],
        min_price=data["minPrice"],
        port=number("port", 2),
        scope=number("scope", 6),
        staticip=number("staticip", 3),
        flux_multiplier=number("fluxmultiplier", 1),
        multiplier=number("multiplier", 1),
        min_usd_price=number("minUSDPrice", None),
    )


def _viprates_rate(rates: Any) -> float:
    fiat = rates[0] if isinstance(rates, list) and rates else None
    usd = (
        next(
            (r for r in fiat if isinstance(r, dict) and r.get("code") == "USD"),
            None,
        )
        if isinstance(fiat, list)
        else None
    )
    if usd is None or not is_number(usd.get("rate")):
        raise ServiceUnavailable("Unable to get USD rate.")
    crypto = rates[1] if len(rates) > 1 else None
    flux = crypto.get("FLUX") if isinstance(crypto, dict) else None
    if not is_number(flux):
        raise ServiceUnavailable("Unable to get Flux USD Price.")
    return float(usd["rate"] * flux)
