"""The "Apps" section: app specification checks, prices and deployment facts (`/apps/*`).

POST bodies are the spec itself (JSON or a query string), as upstream reads them.
"""

from __future__ import annotations

from typing import Any

from fluxos.api.envelope import Message
from fluxos.api.routing import Call, FluxRouter

router = FluxRouter("Apps")


@router.post("/apps/calculatefiatandfluxprice")
@router.post("/apps/calculateprice")
async def fiat_and_flux_price(call: Call) -> dict[str, Any]:
    """Price of a spec in USD and FLUX (`calculateprice` is the deprecated name)."""
    return await call.node.apps.quote(call.body)


@router.post("/apps/verifyappregistrationspecifications")
async def verify_registration(call: Call) -> dict[str, Any]:
    """Check a spec as a new registration; answers the formatted spec."""
    return await call.node.apps.verify_registration(call.body)


@router.post("/apps/verifyappupdatespecifications")
async def verify_update(call: Call) -> dict[str, Any]:
    """Check a spec as an update; answers the formatted spec.

    Until this node keeps the app registry, send the app's current spec in the body as
    `previousAppSpecifications`.
    """
    return await call.node.apps.verify_update(call.body)


@router.post("/apps/checkdockerexistance")
async def check_docker_existence(call: Call) -> Message:
    """Check that an image exists for amd64 or arm64 and is allowed here (`repotag`,
    optional `repoauth` as username:password)."""
    await call.node.apps.check_image(call.require("repotag"), call.text("repoauth") or "")
    return Message("Repotag is accessible")


@router.get("/apps/latestspecificationversion")
async def latest_specification_version(call: Call) -> int:
    """The newest app specification version."""
    return int(call.node.apps.latest_spec_version())


@router.get("/apps/getappspecsusdprice")
async def usd_price_table(call: Call) -> dict[str, Any]:
    """The USD price table of app resources."""
    return dict(call.node.apps.usd_price_table())


@router.get("/apps/whitelistedrepositories")
async def whitelisted_repositories(call: Call) -> list[Any]:
    """Flux's published list of whitelisted repositories."""
    return list(await call.node.apps.whitelisted_repositories())


@router.get("/apps/deploymentinformation")
async def deployment_information(call: Call) -> dict[str, Any]:
    """Prices, payment address, ports and limits for deploying an app now."""
    return dict(await call.node.apps.deployment_information())


@router.get("/apps/registrationinformation")
async def registration_information(call: Call) -> dict[str, Any]:
    """The app consensus parameters (prices, addresses, heights, limits)."""
    return dict(call.node.apps.registration_information())
