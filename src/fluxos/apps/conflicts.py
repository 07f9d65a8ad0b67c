"""Whether an app name is free to register (§4.1), against a directory of known apps."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from fluxos.apps.errors import AppSpecError
from fluxos.apps.params import MAINNET, AppParams
from fluxos.apps.specs import AppSpec

logger = logging.getLogger(__name__)

_RESERVED = "share"  # the name of FluxOS's own file-sharing app


@dataclass(frozen=True)
class HashRecord:
    """An app-message hash seen on chain, at the height of its payment."""

    hash: str
    height: int


class AppDirectory(Protocol):
    """The registry lookups name checks need; the global registry implements it."""

    async def global_spec(self, name: str) -> AppSpec | None:
        """The current global spec of `name` (case-insensitive), with `height` and `expire`."""
        ...

    async def hash_record(self, message_hash: str) -> HashRecord | None:
        """Where a message hash was paid on chain, if it was."""
        ...

    async def available_app_names(self) -> Sequence[str]:
        """Names of global apps and of apps installed on this node."""
        ...


class InMemoryDirectory:
    """An AppDirectory over given specs: empty for an offline check, or a test's registry."""

    def __init__(
        self,
        global_specs: Iterable[AppSpec] = (),
        local_names: Iterable[str] = (),
        hashes: Mapping[str, int] | None = None,
    ) -> None:
        self._specs = {str(spec["name"]).lower(): spec for spec in global_specs}
        self._local = list(local_names)
        self._hashes = dict(hashes or {})

    async def global_spec(self, name: str) -> AppSpec | None:
        return self._specs.get(name.lower())

    async def hash_record(self, message_hash: str) -> HashRecord | None:
        height = self._hashes.get(message_hash)
        return None if height is None else HashRecord(message_hash, height)

    async def available_app_names(self) -> Sequence[str]:
        return [spec["name"] for spec in self._specs.values()] + self._local


async def check_name_available(
    spec: AppSpec,
    directory: AppDirectory,
    *,
    message_hash: str | None = None,
    params: AppParams = MAINNET,
) -> None:
    """Raise AppSpecError if `spec`'s name is taken.

    With `message_hash` (a registration replayed from the network) an existing app
    whose registration has expired by the hash's payment height does not count.
    """
    name = spec["name"]
    taken = (
        f"Flux App {name} already registered. Flux App has to be registered under different name."
    )
    existing = await directory.global_spec(name)
    if existing is not None:
        if message_hash is None:
            raise AppSpecError(taken)
        record = await directory.hash_record(message_hash)
        if record is None:
            raise AppSpecError(f"{taken} Hash not found in collection.")
        registered = int(existing["height"])
        if registered <= record.height:
            expire = existing.get("expire") or params.default_expire(registered)
            end = registered + params.pon_adjusted_expire(registered, expire)
            if end >= record.height:
                raise AppSpecError(f"{taken} Hash is not older than our current app.")
            logger.warning("global spec of %s is outdated; it goes at the next expiry", name)
    lowered = name.lower()
    if any(other.lower() == lowered for other in await directory.available_app_names()):
        raise AppSpecError(
            f"Flux App {name} already assigned to local application."
            " Flux App has to be registered under different name."
        )
    if lowered == _RESERVED:
        raise AppSpecError(
            f"Flux App {name} already assigned to Flux main application."
            " Flux App has to be registered under different name."
        )
