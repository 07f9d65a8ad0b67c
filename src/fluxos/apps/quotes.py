"""Price quotes for app owners (§5.3): live price services with the config's fallbacks.

The USD price table, the Flux/USD rate and the marketplace multipliers come from
Flux's public services. Each sits behind a small protocol; when one is unreachable
the quote uses the configured value and says so in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from fluxos.apps.enterprise import (
    EnterpriseDecryptor,
    NoEnterpriseDecryption,
    decrypt_if_enterprise,
)
from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import MAINNET, AppParams, PriceEntry
from fluxos.apps.pricing import (
    MarketplaceApp,
    app_price_per_month,
    fiat_and_flux_price,
    is_free_update,
    onchain_minimum_registration,
)
from fluxos.wire.jsvalues import UNDEFINED, to_number, truthy

logger = logging.getLogger(__name__)

FREE_UPDATE = {"usd": 0, "flux": 0, "fluxDiscount": 0}


class UsdPriceSource(Protocol):
    """stats.runonflux.io/apps/getappspecsusdprice; None when unreachable."""

    async def usd_price_table(self) -> PriceEntry | None: ...


class FluxRateSource(Protocol):
    """USD value of one FLUX (viprates, then CoinGecko); None when unreachable."""

    async def flux_usd_rate(self) -> float | None: ...


class MarketplaceSource(Protocol):
    """stats.runonflux.io/marketplace/listapps; None when unreachable."""

    async def marketplace_apps(self) -> list[MarketplaceApp] | None: ...


class OfflinePriceServices:
    """No network: every price service is unavailable."""

    async def usd_price_table(self) -> PriceEntry | None:
        return None

    async def flux_usd_rate(self) -> float | None:
        return None

    async def marketplace_apps(self) -> list[MarketplaceApp] | None:
        return None


def parse_price_message(message: str, height: int) -> PriceEntry | None:
    """A foundation price message `p_cpu_ram_hdd_minPrice[_port_scope_staticip]`, or None."""
    parts = message.split("_")
    if len(parts) < 5 or not parts[4]:
        return None

    def optional(index: int, default: float) -> float:
        value = to_number(parts[index]) if index < len(parts) else 0
        return value if truthy(value) else default

    return PriceEntry(
        height=height,
        cpu=to_number(parts[1]),
        ram=to_number(parts[2]),
        hdd=to_number(parts[3]),
        min_price=to_number(parts[4]),
        port=optional(5, 2),
        scope=optional(6, 6),
        staticip=optional(7, 3),
    )


def flux_price_table(
    params: AppParams, chain_messages: Iterable[tuple[int, str]] = ()
) -> tuple[PriceEntry, ...]:
    """The on-chain price table: the config's entries merged with `p_` messages by height."""
    entries = list(params.price)
    for height, message in chain_messages:
        entry = parse_price_message(message, height)
        if entry is None:
            logger.info("ignoring chain price message %r at %d: no minimum price", message, height)
        else:
            entries.append(entry)
    return tuple(sorted(entries, key=lambda entry: entry.height))  # stable, like upstream


class PriceQuoter:
    """Answers `/apps/calculatefiatandfluxprice` from live services or their fallbacks."""

    def __init__(
        self,
        params: AppParams = MAINNET,
        *,
        usd: UsdPriceSource | None = None,
        rates: FluxRateSource | None = None,
        marketplace: MarketplaceSource | None = None,
        decryptor: EnterpriseDecryptor | None = None,
    ) -> None:
        offline = OfflinePriceServices()
        self._params = params
        self._usd = usd or offline
        self._rates = rates or offline
        self._marketplace = marketplace or offline
        self._decryptor = decryptor or NoEnterpriseDecryption()

    async def usd_price_entry(self) -> PriceEntry:
        """The live USD price table, or the configured one when stats cannot be reached."""
        entry = await self._usd.usd_price_table()
        if entry is None:
            logger.warning("USD app price table unavailable; using the configured table")
            return self._params.usd_price
        return entry

    async def flux_usd_rate(self) -> float:
        rate = await self._rates.flux_usd_rate()
        if rate is None or not rate > 0:
            logger.warning(
                "Flux/USD rate unavailable; using the configured rate %s",
                self._params.flux_usd_rate,
            )
            return self._params.flux_usd_rate
        return rate

    async def quote(
        self,
        spec_json: Any,
        height: int,
        *,
        flux_table: Sequence[PriceEntry] | None = None,
        existing: dict[str, Any] | None = None,
        update_heights: Iterable[int] = (),
    ) -> dict[str, Any]:
        """`{usd, flux, fluxDiscount}` for a spec at `height` (the daemon's).

        `existing` is the app's current global spec when the quote is for an update,
        `update_heights` the heights of its paid updates (for free updates).
        """
        if not isinstance(spec_json, dict):
            raise AppSpecError("Invalid application specification provided.")
        price_usd = spec_json.get("priceUSD", UNDEFINED)
        opened = await decrypt_if_enterprise(spec_json, self._decryptor, height=height)
        spec = format_spec(opened, self._params)
        if existing is not None:
            existing = await decrypt_if_enterprise(existing, self._decryptor, height=height)
            if is_free_update(spec, existing, height, update_heights, self._params):
                logger.info("update of %s is free", spec["name"])
                return dict(FREE_UPDATE)
        marketplace = await self._marketplace.marketplace_apps()
        if marketplace is None:
            logger.warning("marketplace list unavailable; quoting without app multipliers")
        return fiat_and_flux_price(
            spec,
            height,
            self._params,
            usd_entry=await self.usd_price_entry(),
            flux_table=self._params.price if flux_table is None else flux_table,
            flux_usd_rate=await self.flux_usd_rate(),
            marketplace=marketplace or (),
            existing=existing,
            price_usd=price_usd,
        )

    async def owner_quote(
        self, spec_json: Any, height: int, *, flux_table: Sequence[PriceEntry] | None = None
    ) -> dict[str, Any]:
        """A new registration's quote plus `fluxPerMonth` and `onchainMinimumFlux` (CLI `price`)."""
        quote = await self.quote(spec_json, height, flux_table=flux_table)
        table = self._params.price if flux_table is None else flux_table
        spec = format_spec(await decrypt_if_enterprise(spec_json, self._decryptor, height=height))
        quote["fluxPerMonth"] = app_price_per_month(spec, height, table, self._params)
        quote["onchainMinimumFlux"] = onchain_minimum_registration(
            spec, height, table, self._params
        )
        return quote
