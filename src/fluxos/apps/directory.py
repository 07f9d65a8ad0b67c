"""The registry's answers to "which apps exist and who owns them", read from storage.

`RegistryDirectory` is the `AppDirectory` of name checks and quotes, the `PreviousSpecs`
of update checks and the `AppOwners` of the appowner permission level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fluxos.apps.conflicts import HashRecord
from fluxos.apps.specs import AppSpec
from fluxos.storage.apps import AppsStore, GlobalSpecRecord
from fluxos.wire.jsvalues import parse_json


def global_document(record: GlobalSpecRecord) -> dict[str, Any]:
    """A global spec as the routes answer it: the formatted spec, then `hash`, `height`."""
    document: dict[str, Any] = parse_json(record.spec)
    document["hash"] = record.hash
    document["height"] = record.height
    return document


class RegistryDirectory:
    """Registry lookups over the stored global specs and payments."""

    def __init__(self, store: AppsStore) -> None:
        self._store = store

    async def global_spec(self, name: str) -> AppSpec | None:
        record = await self._store.global_spec(name)
        return None if record is None else global_document(record)

    async def hash_record(self, message_hash: str) -> HashRecord | None:
        payment = await self._store.payment(message_hash)
        return None if payment is None else HashRecord(payment.hash, payment.height)

    async def available_app_names(self) -> Sequence[str]:
        # Installed apps join this list once the local app runtime exists.
        return [record.name for record in await self._store.global_specs()]

    async def previous_spec(self, name: str, before_ms: int) -> AppSpec | None:
        """The app's latest permanent spec signed no later than `before_ms`."""
        for message in await self._store.permanents_of_app(name):
            if message.timestamp <= before_ms:
                spec: AppSpec = parse_json(message.spec)
                return spec
        return None

    async def owner_of(self, app_name: str) -> str | None:
        record = await self._store.global_spec(app_name)
        return None if record is None else record.owner
