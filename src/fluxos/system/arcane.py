"""The ArcaneOS authentication routes (`/arcane/authchallenge`, `/arcane/configsync`,
upstream 8.18): on ArcaneOS they hand a challenge and a signed config to the flux-configd
daemon. Upstream refuses them over plain HTTP (403) and on any other OS (501), and without
flux-configd's connection (502); fluxos answers the same, in the same order. fluxos serves
no HTTPS itself, so behind no TLS proxy the answer is always the 403."""

from __future__ import annotations

import os
from collections.abc import Mapping

from fluxos.errors import FluxError

HTTPS_REQUIRED = "HTTPS required for ArcaneOS authentication endpoints"
NOT_ARCANE = "This endpoint is only available on ArcaneOS nodes"
NO_CONFIGD = "flux-configd not available"


def check_arcane_request(secure: bool, environ: Mapping[str, str] | None = None) -> None:
    """Raise upstream's refusal for this request; returns only where flux-configd could
    be asked."""
    env = os.environ if environ is None else environ
    if not secure:
        raise FluxError(HTTPS_REQUIRED, code=403, name="ForbiddenProtocol", http_status=403)
    if not env.get("FLUXOS_PATH"):
        raise FluxError(NOT_ARCANE, code=501, name="NotImplemented", http_status=501)
    if not env.get("FLUX_CONFIG_CONNECTION"):
        raise FluxError(NO_CONFIGD, code=502, name="BadGateway", http_status=502)
    raise FluxError(
        "this node does not speak flux-configd's RPC (fluxos is not an ArcaneOS build)",
        code=501,
        name="NotImplemented",
        http_status=501,
    )
