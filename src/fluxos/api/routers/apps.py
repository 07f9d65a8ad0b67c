"""The "Apps" section: app specification checks, prices and deployment facts (`/apps/*`).

POST bodies are the spec itself (JSON or a query string), as upstream reads them.
"""

from __future__ import annotations

from typing import Any

from fluxos.api.envelope import Message
from fluxos.api.routing import Call, FluxRouter
from fluxos.apps.service import AppsService

router = FluxRouter("Apps", lambda node: node.apps)
Apps = Call[AppsService]


@router.post("/apps/calculatefiatandfluxprice")
@router.post("/apps/calculateprice")
async def fiat_and_flux_price(call: Apps) -> dict[str, Any]:
    """Price of a spec in USD and FLUX (`calculateprice` is the deprecated name)."""
    return await call.service.quote(call.body)


@router.post("/apps/verifyappregistrationspecifications")
async def verify_registration(call: Apps) -> dict[str, Any]:
    """Check a spec as a new registration; answers the formatted spec."""
    return await call.service.verify_registration(call.body)


@router.post("/apps/verifyappupdatespecifications")
async def verify_update(call: Apps) -> dict[str, Any]:
    """Check a spec as an update of the registered app; answers the formatted spec."""
    return await call.service.verify_update(call.body)


@router.post("/apps/checkdockerexistance")
async def check_docker_existence(call: Apps) -> Message:
    """Check that an image exists for amd64 or arm64 and is allowed here (`repotag`,
    optional `repoauth` as username:password)."""
    await call.service.check_image(call.require("repotag"), call.text("repoauth") or "")
    return Message("Repotag is accessible")


@router.get("/apps/latestspecificationversion")
async def latest_specification_version(call: Apps) -> int:
    """The newest app specification version."""
    return int(call.service.latest_spec_version())


@router.get("/apps/getappspecsusdprice")
async def usd_price_table(call: Apps) -> dict[str, Any]:
    """The USD price table of app resources."""
    return dict(call.service.usd_price_table())


@router.get("/apps/whitelistedrepositories")
async def whitelisted_repositories(call: Apps) -> list[Any]:
    """Flux's published list of whitelisted repositories."""
    return list(await call.service.whitelisted_repositories())


@router.get("/apps/deploymentinformation")
async def deployment_information(call: Apps) -> dict[str, Any]:
    """Prices, payment address, ports and limits for deploying an app now."""
    return dict(await call.service.deployment_information())


@router.get("/apps/registrationinformation")
async def registration_information(call: Apps) -> dict[str, Any]:
    """The app consensus parameters (prices, addresses, heights, limits)."""
    return dict(call.service.registration_information())
