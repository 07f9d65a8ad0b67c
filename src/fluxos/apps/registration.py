"""Checks behind the app registration and update routes (§4, §6), minus the broadcast.

`AppSpecChecker` holds the collaborators (registry lookups, image services, enterprise
decryption) so a route is one call: `verify_registration(spec_json, height)`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fluxos.apps.conflicts import AppDirectory, InMemoryDirectory, check_name_available
from fluxos.apps.enterprise import (
    EnterpriseDecryptor,
    NoEnterpriseDecryption,
    decrypt_if_enterprise,
)
from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.images import (
    ImageRegistry,
    RepositoryLists,
    check_image_architectures,
    check_image_compliance,
)
from fluxos.apps.messages import (
    message_hash,
    parse_signed_message,
    verify_registration_signature,
    verify_update_signature,
)
from fluxos.apps.params import MAINNET, AppParams
from fluxos.apps.specs import AppSpec, is_enterprise, public_view
from fluxos.apps.updates import check_update_rules
from fluxos.apps.validation import verify_app_specifications

logger = logging.getLogger(__name__)

PreviousSpecLookup = Callable[[AppSpec], Awaitable[AppSpec | None]]
"""Finds the previous spec of a checked new spec (by its name), None if there is none."""


class AppSpecChecker:
    """Validates specs and signed messages the way the registration API does.

    Without `images` and `repository_lists` the image checks of §3.4 are skipped
    (an offline check); a node passes its registry and GitHub clients.
    """

    def __init__(
        self,
        params: AppParams = MAINNET,
        *,
        directory: AppDirectory | None = None,
        images: ImageRegistry | None = None,
        repository_lists: RepositoryLists | None = None,
        user_blocked_repositories: Collection[str] = (),
        decryptor: EnterpriseDecryptor | None = None,
        enterprise_owners: Collection[str] = (),
    ) -> None:
        self.params = params
        self._directory = directory or InMemoryDirectory()
        self._images = images
        self._lists = repository_lists
        self._user_blocked = tuple(user_blocked_repositories)
        self._decryptor = decryptor or NoEnterpriseDecryption()
        self._enterprise_owners = frozenset(enterprise_owners)

    async def check_spec(self, spec_json: Any, height: int) -> AppSpec:
        """Decrypt, format and validate `spec_json` (with image checks when configured)."""
        opened = await decrypt_if_enterprise(spec_json, self._decryptor, height=height)
        spec = format_spec(opened, self.params)
        verify_app_specifications(
            spec, height, self.params, enterprise_owners=self._enterprise_owners
        )
        if self._lists is not None:
            await check_image_compliance(spec, self._lists, self._user_blocked)
        if self._images is not None:
            await check_image_architectures(spec, self._images)
        if self._lists is None or self._images is None:
            logger.debug("image checks of %s skipped: no registry configured", spec["name"])
        return spec

    async def verify_registration(self, spec_json: Any, height: int) -> AppSpec:
        """The formatted spec if it may be registered at `height` (the verify route's answer)."""
        spec = await self.check_spec(spec_json, height)
        await check_name_available(spec, self._directory, params=self.params)
        return public_view(spec)

    async def verify_update(
        self, spec_json: Any, height: int, previous: AppSpec | PreviousSpecLookup | None
    ) -> AppSpec:
        """The formatted spec if it may replace `previous` (verifyappupdatespecifications).

        `previous` is the app's latest paid spec, or a lookup given the checked new spec
        (so a bad spec is reported before a missing previous one); None means the app
        does not exist.
        """
        spec = await self.check_spec(spec_json, height)
        if callable(previous):
            previous = await previous(spec)
        if previous is None:
            raise AppSpecError(f"Flux App {spec['name']} does not exist and cannot be updated")
        check_update_rules(spec, previous, self.params)
        return public_view(spec)

    async def check_registration(self, body: Any, height: int, now_ms: int) -> dict[str, Any]:
        """The temporary message for a signed registration body (appregister minus gossip)."""
        message = parse_signed_message(body, "register", now_ms)
        spec = await self.check_spec(message.spec, height)
        await check_name_available(spec, self._directory, params=self.params)
        # An enterprise owner signs the submitted (encrypted) spec, not the decrypted one.
        submitted_enterprise = isinstance(message.spec, dict) and is_enterprise(message.spec)
        signed = format_spec(message.spec, self.params) if submitted_enterprise else spec
        verify_registration_signature(
            message.type, message.version, signed, message.timestamp, message.signature, self.params
        )
        return _temporary_message(
            message.type, public_view(spec), message.timestamp, message.signature
        )

    async def check_update(
        self,
        body: Any,
        height: int,
        now_ms: int,
        *,
        current: AppSpec | None,
        previous: AppSpec | None = None,
    ) -> dict[str, Any]:
        """The temporary message for a signed update body (appupdate minus gossip).

        `current` is the app's global spec (its owner signs); `previous` its latest paid
        spec, decrypted for enterprise apps, when it differs from `current`.
        """
        message = parse_signed_message(body, "update", now_ms)
        spec = await self.check_spec(message.spec, height)
        if current is None:
            raise AppSpecError("Flux App update received but application to update does not exist!")
        legacy = current.get("version", 0) <= 3 and spec["version"] <= 3
        if legacy and current.get("repotag") != spec.get("repotag"):
            raise AppSpecError("Flux App update of repotag is not allowed")
        submitted_enterprise = isinstance(message.spec, dict) and is_enterprise(message.spec)
        signed = format_spec(message.spec, self.params) if submitted_enterprise else spec
        verify_update_signature(
            message.type,
            message.version,
            signed,
            message.timestamp,
            message.signature,
            owner=str(current.get("owner")),
            height=height,
            previous=previous if previous is not None else current,
            decrypted_spec=spec if submitted_enterprise else None,
            params=self.params,
        )
        check_update_rules(spec, current, self.params)
        return _temporary_message(
            message.type, public_view(spec), message.timestamp, message.signature
        )


def _temporary_message(
    message_type: str, stored: AppSpec, timestamp: int, signature: str
) -> dict[str, Any]:
    return {
        "type": message_type,
        "version": 1,
        "appSpecifications": stored,
        "hash": message_hash(message_type, 1, stored, timestamp, signature),
        "timestamp": timestamp,
        "signature": signature,
    }
