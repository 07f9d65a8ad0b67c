"""The node's apps service: what the `/apps` routes ask, one method per route.

It holds the spec checker, the price quoter, the image registry client and Flux's
public lists, and asks a `HeightSource` for the height every rule is judged at.
Request bodies arrive as decoded JSON; numbers are brought to JavaScript's form first,
because a spec's canonical text (and so its hash) renders 5000, never 5000.0.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, Protocol

from fluxos.apps.conflicts import AppDirectory
from fluxos.apps.errors import ServiceUnavailable
from fluxos.apps.heights import HeightSource
from fluxos.apps.images import ImageRegistry, RepositoryLists, check_operator_allows
from fluxos.apps.params import AppParams
from fluxos.apps.quotes import PriceQuoter, flux_price_table
from fluxos.apps.registration import AppSpecChecker
from fluxos.apps.specs import AppSpec
from fluxos.clock import Clock
from fluxos.errors import BadParameter
from fluxos.wire.jsvalues import as_parsed_json

logger = logging.getLogger(__name__)


class PreviousSpecs(Protocol):
    """The global app registry's answer to "what does this update replace?"."""

    async def previous_spec(self, name: str, before_ms: int) -> AppSpec | None:
        """The app's latest paid spec older than `before_ms`; None if it is not registered."""
        ...


class AppsService:
    """Checks, quotes and information behind the `/apps` routes.

    `directory` and `previous_specs` are the global registry's lookups (name conflicts,
    quotes of existing apps, the spec an update replaces).
    """

    def __init__(
        self,
        params: AppParams,
        *,
        checker: AppSpecChecker,
        quoter: PriceQuoter,
        images: ImageRegistry,
        lists: RepositoryLists,
        heights: HeightSource,
        clock: Clock,
        directory: AppDirectory,
        previous_specs: PreviousSpecs,
        user_blocked_repositories: Collection[str] = (),
    ) -> None:
        self.params = params
        self.checker = checker
        self.quoter = quoter
        self.images = images
        self.lists = lists
        self.heights = heights
        self._clock = clock
        self._directory = directory
        self._previous_specs = previous_specs
        self._user_blocked = tuple(user_blocked_repositories)

    # -- checks and quotes ------------------------------------------------------------
    async def quote(self, body: Any) -> dict[str, Any]:
        """`{usd, flux, fluxDiscount}` of a spec (calculatefiatandfluxprice, calculateprice)."""
        spec_json = _as_spec_json(body)
        height = await self.heights.current_height()
        name = spec_json.get("name") if isinstance(spec_json, dict) else None
        existing = await self._directory.global_spec(name) if isinstance(name, str) else None
        return await self.quoter.quote(spec_json, height, existing=existing)

    async def verify_registration(self, body: Any) -> AppSpec:
        """The formatted spec if it may be registered now (verifyappregistrationspecifications)."""
        height = await self.heights.current_height()
        return await self.checker.verify_registration(_as_spec_json(body), height)

    async def verify_update(self, body: Any) -> AppSpec:
        """The formatted spec if it may update the app (verifyappupdatespecifications)."""
        spec_json = _as_spec_json(body)
        height = await self.heights.current_height()
        now_ms = self._clock.millis()

        async def previous_of(spec: AppSpec) -> AppSpec | None:
            return await self._previous_specs.previous_spec(str(spec["name"]), now_ms)

        return await self.checker.verify_update(spec_json, height, previous_of)

    async def check_image(self, repotag: str, repoauth: str = "") -> list[str]:
        """Architectures of an image this node would accept (checkdockerexistance).

        The node operator's blocked repositories apply; `repoauth` is `username:password`.
        """
        check_operator_allows(repotag, self._user_blocked)
        return await self.images.architectures(
            repotag,
            repoauth=repoauth,
            spec_version=self.params.latest_spec_version,
            app_name="(image check)",
        )

    # -- information ------------------------------------------------------------------
    def latest_spec_version(self) -> int:
        return self.params.latest_spec_version

    def usd_price_table(self) -> dict[str, Any]:
        """The configured USD price table (upstream serves its config, not the live one)."""
        return self.params.usd_price.to_json()

    async def deployment_information(self) -> dict[str, Any]:
        height = await self.heights.current_height()
        # Foundation `p_` price messages join the table once the explorer stores them.
        return self.params.deployment_information(height, flux_price_table(self.params))

    def registration_information(self) -> dict[str, Any]:
        return self.params.registration_information()

    async def whitelisted_repositories(self) -> list[Any]:
        listed = await self.lists.whitelisted_repositories()
        if listed is None:
            raise ServiceUnavailable(
                "Unable to fetch whitelisted repositories from Flux Services. Try again later."
            )
        return listed


def _as_spec_json(body: Any) -> Any:
    try:
        return as_parsed_json(body)
    except ValueError as exc:
        raise BadParameter(f"request body: {exc}") from None
