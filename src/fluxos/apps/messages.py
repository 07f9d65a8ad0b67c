"""Signed app messages (§6): the signed text, the message hash, owner signatures.

An owner signs `type + version + JSON.stringify(spec) + timestamp`; the network names
the message by `sha256_hex(that text + signature)`, the value the payment's OP_RETURN
carries. Specs signed in an older key order (see `formatter.legacy_orderings`) still
verify.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from fluxos.apps.errors import AppMessageError
from fluxos.apps.formatter import canonical_json, legacy_orderings
from fluxos.apps.params import MAINNET, AppParams
from fluxos.apps.specs import AppSpec, is_enterprise
from fluxos.crypto import PrivateKey, sign_eth_message, sign_message, verify_message
from fluxos.crypto.signed_message import message_bytes
from fluxos.wire.jsvalues import UNDEFINED, is_number, parse_json, to_number, to_string, truthy

logger = logging.getLogger(__name__)

REGISTER_TYPES = ("fluxappregister", "zelappregister")
UPDATE_TYPES = ("fluxappupdate", "zelappupdate")
MESSAGE_VERSION = 1
# Names containing a millisecond timestamp after 2020-01-01 are marketplace deployments,
# which the Flux support address may update on the owner's behalf.
_MARKETPLACE_EPOCH_MS = 1_577_836_800_000
_DIGIT_RUN = re.compile(r"[0-9]+")
_REGISTER_INVALID = (
    "Received signature is invalid or Flux App specifications are not properly formatted"
)
_UPDATE_INVALID = (
    "Received signature does not correspond with Flux App owner"
    " or Flux App specifications are not properly formatted"
)


def signed_text(message_type: str, version: Any, spec: AppSpec, timestamp: Any) -> str:
    """The text an owner signs: `type + version + JSON.stringify(spec) + timestamp`."""
    return message_type + to_string(version) + canonical_json(spec) + to_string(timestamp)


def message_hash(
    message_type: str, version: Any, spec: AppSpec, timestamp: Any, signature: str
) -> str:
    """The message hash (hex) of a signed spec, as stored on chain and in gossip."""
    text = signed_text(message_type, version, spec, timestamp) + signature
    return hashlib.sha256(message_bytes(text)).hexdigest()


def verify_message_hash(message: dict[str, Any]) -> None:
    """Raise AppMessageError unless `message['hash']` names the message in some accepted order."""
    spec = message.get("appSpecifications")
    if not isinstance(spec, dict):
        raise AppMessageError("Invalid Flux App message: appSpecifications must be an object")
    parts = (message.get("type"), message.get("version"), message.get("timestamp"))
    signature = message.get("signature")
    if not isinstance(parts[0], str) or not isinstance(signature, str):
        raise AppMessageError("Invalid Flux App message: type and signature must be strings")
    for candidate in (spec, *legacy_orderings(spec)):
        if message_hash(parts[0], parts[1], candidate, parts[2], signature) == message.get("hash"):
            return
    logger.info("app message hash %s does not match its content", message.get("hash"))
    raise AppMessageError("Invalid Flux App hash received")


def _check_parts(
    message_type: Any, version: Any, spec: Any, timestamp: Any, signature: Any
) -> None:
    if not (
        isinstance(spec, dict)
        and is_number(timestamp)
        and isinstance(signature, str)
        and is_number(version)
        and isinstance(message_type, str)
    ):
        raise AppMessageError("Invalid Flux App message specifications")


def _orderings(spec: AppSpec) -> list[AppSpec]:
    return [spec, *legacy_orderings(spec)]


def verify_registration_signature(
    message_type: str,
    version: int,
    spec: AppSpec,
    timestamp: int,
    signature: str,
    params: AppParams = MAINNET,
) -> None:
    """Raise AppMessageError unless the spec's owner signed this registration."""
    _check_parts(message_type, version, spec, timestamp, signature)
    owner = spec.get("owner")
    # Ethereum owners are only accepted for messages signed after the cut-over; the v7
    # key order predates no such message, so upstream checks it with both verifiers.
    recent = timestamp > params.eth_signatures_from_timestamp
    for candidate in _orderings(spec):
        allow_eth = recent or (candidate is not spec and to_number(spec.get("version")) == 7)
        text = signed_text(message_type, version, candidate, timestamp)
        if _verify(text, owner, signature, allow_eth=allow_eth):
            return
    raise AppMessageError(_REGISTER_INVALID)


def _verify(text: str, address: Any, signature: str, *, allow_eth: bool = True) -> bool:
    if not isinstance(address, str):
        return False
    if not allow_eth and address.startswith("0x"):
        return False
    return verify_message(text, address, signature)


def is_marketplace_app(name: str) -> bool:
    """Whether `name` carries a millisecond timestamp after 2020-01-01 (a marketplace deploy)."""
    return any(int(run) > _MARKETPLACE_EPOCH_MS for run in _DIGIT_RUN.findall(name))


def _json_copy(value: Any) -> Any:
    return parse_json(canonical_json(value))


def _strictly_equal(a: Any, b: Any) -> bool:
    """Deep equality of JSON values where, unlike Python, true != 1 and key order is ignored."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return a == b
    return a is None and b is None


def is_expire_only_update(spec: AppSpec, previous: AppSpec) -> bool:
    """Whether `spec` differs from `previous` in nothing but expire (and stored hash/height)."""
    ignored = ("expire", "height", "hash", "enterprise")
    new = {k: v for k, v in _json_copy(spec).items() if k not in ignored}
    old = {k: v for k, v in _json_copy(previous).items() if k not in ignored}
    return _strictly_equal(new, old)


def _support_address(height: int, params: AppParams) -> str | None:
    found = [entry for entry in params.team_support_addresses if entry.height <= height]
    return found[-1].address if found else None


def verify_update_signature(
    message_type: str,
    version: int,
    spec: AppSpec,
    timestamp: int,
    signature: str,
    *,
    owner: str,
    height: int,
    previous: AppSpec | None,
    decrypted_spec: AppSpec | None = None,
    params: AppParams = MAINNET,
) -> None:
    """Raise AppMessageError unless `owner` (the current owner) or a delegate signed the update.

    Delegates: the Flux support address for marketplace apps, and `users_to_extend`
    for updates that only change `expire`. For an enterprise spec the expire-only
    comparison needs `decrypted_spec`; without it (a node that cannot decrypt) any
    such signature is accepted, as upstream does.
    """
    _check_parts(message_type, version, spec, timestamp, signature)
    support = _support_address(height, params)
    signers: list[str] = [owner]
    if (
        support is not None
        and isinstance(spec.get("name"), str)
        and is_marketplace_app(spec["name"])
    ):
        signers.append(support)
    for candidate in _orderings(spec):
        text = signed_text(message_type, version, candidate, timestamp)
        if any(_verify(text, signer, signature) for signer in signers):
            return
    if previous is not None and params.users_to_extend:
        comparable = spec
        if is_enterprise(spec):
            comparable = decrypted_spec  # type: ignore[assignment]
        text = signed_text(message_type, version, spec, timestamp)
        for user in params.users_to_extend:
            if _verify(text, user, signature) and (
                comparable is None or is_expire_only_update(comparable, previous)
            ):
                logger.info("expiry of %s extended by %s", spec.get("name"), user)
                return
    raise AppMessageError(_UPDATE_INVALID)


@dataclass(frozen=True)
class SignedAppMessage:
    """A register or update request: type, version, appSpecification, timestamp, signature."""

    type: str
    version: int
    spec: Any
    timestamp: int
    signature: str

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "version": self.version,
            "appSpecification": self.spec,
            "timestamp": self.timestamp,
            "signature": self.signature,
        }


def parse_signed_message(
    body: Any, kind: Literal["register", "update"], now_ms: int
) -> SignedAppMessage:
    """Check a register/update request body (§6.1) against the clock `now_ms`."""
    if not isinstance(body, dict):
        raise AppMessageError("Invalid Flux App message: the body must be a JSON object")
    # The upstream handler reads `appSpecification`; the API document shows `appSpecifications`.
    spec = body.get("appSpecification", body.get("appSpecifications", UNDEFINED))
    message_type, version = body.get("type", UNDEFINED), body.get("version", UNDEFINED)
    timestamp, signature = body.get("timestamp", UNDEFINED), body.get("signature", UNDEFINED)
    if not all(truthy(v) for v in (spec, timestamp, signature, message_type, version)):
        fields = (
            "appSpecification, type, version, timestamp and signature"
            if kind == "register"
            else "appSpecification, timestamp, type, version and signature"
        )
        raise AppMessageError(f"Incomplete message received. Check if {fields} are provided.")
    if message_type not in (REGISTER_TYPES if kind == "register" else UPDATE_TYPES):
        raise AppMessageError("Invalid type of message")
    if not (is_number(version) and version == MESSAGE_VERSION):
        raise AppMessageError("Invalid version of message")
    if isinstance(spec, str):
        try:
            spec = parse_json(spec)
        except ValueError as exc:
            raise AppMessageError("appSpecification is not valid JSON") from exc
    timestamp = to_number(timestamp)
    if not isinstance(timestamp, int):
        raise AppMessageError("timestamp must be an integer number of milliseconds")
    fix_clock = "Check if your computer clock is synced and restart the registration process."
    if timestamp < now_ms - 3_600_000:
        raise AppMessageError(f"Message timestamp is over 1 hour old, not valid. {fix_clock}")
    if timestamp > now_ms + 300_000:
        raise AppMessageError(f"Message timestamp from future, not valid. {fix_clock}")
    signature_text = signature if isinstance(signature, str) else canonical_json(signature)
    return SignedAppMessage(message_type, MESSAGE_VERSION, spec, timestamp, signature_text)


def sign_spec(
    spec: AppSpec,
    key: PrivateKey,
    *,
    message_type: str,
    timestamp: int,
) -> str:
    """The owner's signature of a formatted spec: Bitcoin message, personal_sign for 0x owners."""
    text = signed_text(message_type, MESSAGE_VERSION, spec, timestamp)
    owner = spec.get("owner")
    signature = (
        sign_eth_message(text, key) if str(owner).startswith("0x") else sign_message(text, key)
    )
    if not verify_message(text, str(owner), signature):
        raise AppMessageError(f"the signing key does not belong to the app owner {owner}")
    return signature
