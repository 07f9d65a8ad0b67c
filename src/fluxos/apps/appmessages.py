"""Temporary app messages received from peers (§7.1): the checks before one is stored.

A registration or update arriving by gossip is checked again in full — the spec at the
height it is judged at, the name or update rules against this node's registry, the
message hash and the owner's signature — without the image checks, which only the node
that accepted the owner's request runs. Enterprise specs, which only an Arcane node can
open, are checked by hash and signature alone, as upstream does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fluxos.apps.conflicts import AppDirectory, check_name_available
from fluxos.apps.errors import AppMessageError, AppSpecError
from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.messages import (
    REGISTER_TYPES,
    UPDATE_TYPES,
    verify_message_hash,
    verify_registration_signature,
    verify_update_signature,
)
from fluxos.apps.params import AppParams
from fluxos.apps.specs import AppSpec, is_enterprise, public_view
from fluxos.apps.updates import check_update_rules
from fluxos.apps.validation import verify_app_specifications
from fluxos.storage.apps import StoredMessage
from fluxos.wire.jsvalues import is_number, parse_json, truthy

logger = logging.getLogger(__name__)

APP_MESSAGE_TYPES = (*REGISTER_TYPES, *UPDATE_TYPES)
TEMPORARY_LIFETIME_MS = 3_600_000


class UpdateBeforeRegistration(AppMessageError):
    """An update of an app this node does not know yet; it is kept until the app is."""


@dataclass(frozen=True, slots=True)
class AppMessage:
    """The wire form of an app message: what gossip carries and requests answer."""

    type: str
    version: int
    spec: AppSpec
    hash: str
    timestamp: int
    signature: str
    arcane_sender: bool = False

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def is_update(self) -> bool:
        return self.type in UPDATE_TYPES

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "version": self.version,
            "appSpecifications": self.spec,
            "hash": self.hash,
            "timestamp": self.timestamp,
            "signature": self.signature,
            "arcaneSender": self.arcane_sender,
        }

    def stored(self, received_at: int) -> StoredMessage:
        return StoredMessage(
            hash=self.hash,
            type=self.type,
            version=self.version,
            spec=canonical_json(self.spec),
            timestamp=self.timestamp,
            signature=self.signature,
            name=self.name,
            received_at=received_at,
            expire_at=received_at + TEMPORARY_LIFETIME_MS,
            arcane_sender=self.arcane_sender,
            owner=str(self.spec.get("owner", "")),
        )

    @classmethod
    def from_stored(cls, message: StoredMessage) -> AppMessage:
        return cls(
            message.type,
            message.version,
            parse_json(message.spec),
            message.hash,
            message.timestamp,
            message.signature,
            message.arcane_sender,
        )


def parse_app_message(data: Any) -> AppMessage:
    """The app message in a gossip payload; AppMessageError naming what is wrong."""
    if not isinstance(data, dict):
        raise AppMessageError("app message must be an object")
    kind = data.get("type")
    if kind not in APP_MESSAGE_TYPES:
        raise AppMessageError(f"app message type must be one of {APP_MESSAGE_TYPES}, got {kind!r}")
    spec = data.get("appSpecifications")
    if not isinstance(spec, dict):
        raise AppMessageError("app message appSpecifications must be an object")
    message_hash, signature = data.get("hash"), data.get("signature")
    if not isinstance(message_hash, str) or len(message_hash) != 64:
        raise AppMessageError("app message hash must be 64 hex characters")
    if not isinstance(signature, str) or not signature:
        raise AppMessageError("app message signature must be a non-empty string")
    version, timestamp = data.get("version"), data.get("timestamp")
    if not (is_number(version) and version == 1):
        raise AppMessageError(f"app message version must be 1, got {version!r}")
    if not (is_number(timestamp) and float(timestamp).is_integer()):  # type: ignore[arg-type]
        raise AppMessageError(f"app message timestamp must be integer ms, got {timestamp!r}")
    return AppMessage(
        kind,
        1,
        spec,
        message_hash,
        int(timestamp),  # type: ignore[arg-type]
        signature,
        bool(truthy(data.get("arcaneSender"))),
    )


class MessageChecks:
    """Verifies received app messages against this node's registry."""

    def __init__(self, params: AppParams, directory: AppDirectory) -> None:
        self.params = params
        self._directory = directory

    async def verify(self, message: AppMessage, height: int, *, paid: bool) -> AppMessage:
        """The message with its spec formatted, if it holds at `height`.

        `paid`: the hash is already known on chain, so a registration whose name is taken
        by an app that expired before the payment is acceptable (§4.1).
        """
        wire = message.to_wire()
        if is_enterprise(message.spec):
            # only an Arcane node can open the blob; everyone else checks hash + signature
            verify_message_hash(wire)
            await self._verify_signature(message, message.spec, height)
            return message
        spec = public_view(format_spec(message.spec, self.params))
        verify_app_specifications(spec, height, self.params)
        formatted = AppMessage(
            message.type,
            message.version,
            spec,
            message.hash,
            message.timestamp,
            message.signature,
            message.arcane_sender,
        )
        if message.is_update:
            previous = await self._directory.global_spec(formatted.name)
            if previous is None:
                raise UpdateBeforeRegistration(
                    f"update of {formatted.name} received before its registration"
                )
            check_update_rules(spec, previous, self.params)
        else:
            await check_name_available(
                spec,
                self._directory,
                message_hash=message.hash if paid else None,
                params=self.params,
            )
        verify_message_hash({**wire, "appSpecifications": spec})
        await self._verify_signature(formatted, spec, height)
        return formatted

    async def verify_owner(self, message: AppMessage, height: int) -> None:
        """Only the signature, against the app's current owner (re-checked at payment)."""
        await self._verify_signature(message, message.spec, height)

    async def _verify_signature(self, message: AppMessage, spec: AppSpec, height: int) -> None:
        if not message.is_update:
            verify_registration_signature(
                message.type, 1, spec, message.timestamp, message.signature, self.params
            )
            return
        previous = await self._directory.global_spec(message.name)
        if previous is None:
            raise UpdateBeforeRegistration(
                f"update of {message.name} received before its registration"
            )
        try:
            verify_update_signature(
                message.type,
                1,
                spec,
                message.timestamp,
                message.signature,
                owner=str(previous.get("owner")),
                height=height,
                previous=previous,
                params=self.params,
            )
        except AppMessageError:
            logger.info(
                "update %s of %s is not signed by its owner %s",
                message.hash,
                message.name,
                previous.get("owner"),
            )
            raise


def describe_refusal(error: AppSpecError | AppMessageError) -> str:
    return error.message
