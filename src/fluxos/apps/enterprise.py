"""Enterprise (v8) specs carry their compose and contacts encrypted (§1.6).

Only Arcane OS nodes can have fluxbenchd decrypt them; everything else uses the
`NoEnterpriseDecryption` implementation, which refuses like upstream does.
"""

from __future__ import annotations

from typing import Any, Protocol

from fluxos.apps.errors import AppSpecError
from fluxos.apps.specs import AppSpec
from fluxos.wire.jsvalues import UNDEFINED, to_number, truthy

NOT_ARCANE = "Application Specifications can only be validated on a node running Arcane OS."


class EnterpriseDecryptor(Protocol):
    """Turns an enterprise spec into one with its real `compose` and `contacts`.

    The result keeps the `enterprise` blob, so `specs.public_view` can empty them again.
    """

    async def decrypt(self, spec: AppSpec, *, height: int, owner: str) -> AppSpec: ...


class NoEnterpriseDecryption:
    """This node cannot decrypt enterprise specs (it is not an Arcane OS node)."""

    async def decrypt(self, spec: AppSpec, *, height: int, owner: str) -> AppSpec:
        raise AppSpecError(NOT_ARCANE)


async def decrypt_if_enterprise(
    spec: Any, decryptor: EnterpriseDecryptor, *, height: int, owner: str | None = None
) -> Any:
    """`spec` itself unless it is an enterprise spec, which `decryptor` opens.

    Upstream's gate is `version < 8 || !enterprise`: a spec whose version is missing
    or not a number (NaN compares false) but carries `enterprise` goes to decryption.
    """
    if not isinstance(spec, dict):
        return spec
    if to_number(spec.get("version", UNDEFINED)) < 8 or not truthy(spec.get("enterprise")):
        return spec
    return await decryptor.decrypt(spec, height=height, owner=str(owner or spec.get("owner")))
