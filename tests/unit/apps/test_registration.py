"""The registration and update checks, with real signatures and an in-memory registry."""

from typing import Any

import pytest
from tests.unit.apps.spec_samples import component, seed_spec, v8_spec

from fluxos.apps.conflicts import InMemoryDirectory
from fluxos.apps.errors import AppMessageError, AppSpecError
from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.messages import message_hash, signed_text, verify_message_hash
from fluxos.apps.registration import AppSpecChecker
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message

HEIGHT = 2_200_000
NOW = 1_750_000_000_000


def signed_body(
    spec: dict[str, Any], key: PrivateKey, message_type: str = "fluxappregister"
) -> dict[str, Any]:
    text = signed_text(message_type, 1, format_spec(spec), NOW)
    return {
        "type": message_type,
        "version": 1,
        "appSpecification": spec,
        "timestamp": NOW,
        "signature": sign_message(text, key),
    }


async def test_verify_registration_returns_the_formatted_spec() -> None:
    formatted = await AppSpecChecker().verify_registration(seed_spec(), HEIGHT)
    assert canonical_json(formatted) == canonical_json(format_spec(seed_spec()))


async def test_verify_registration_checks_the_name() -> None:
    taken = InMemoryDirectory([dict(format_spec(seed_spec()), height=HEIGHT - 5)])
    with pytest.raises(AppSpecError, match="already registered"):
        await AppSpecChecker(directory=taken).verify_registration(seed_spec(), HEIGHT)


async def test_verify_update_needs_the_previous_spec() -> None:
    checker = AppSpecChecker()
    with pytest.raises(
        AppSpecError, match="Flux App blockbookneurai does not exist and cannot be updated"
    ):
        await checker.verify_update(seed_spec(), HEIGHT, None)
    previous = format_spec(seed_spec())
    updated = await checker.verify_update(dict(seed_spec(), instances=5), HEIGHT, previous)
    assert updated["instances"] == 5


async def test_signed_registration_becomes_a_temporary_message() -> None:
    key = PrivateKey.generate()
    spec = v8_spec(owner=bitcoin_address(key.public_key))
    body = signed_body(spec, key)
    message = await AppSpecChecker().check_registration(body, HEIGHT, NOW)
    assert message["appSpecifications"] == format_spec(spec)
    assert message["hash"] == message_hash(
        "fluxappregister", 1, format_spec(spec), NOW, body["signature"]
    )
    verify_message_hash(message)


async def test_registration_with_a_foreign_signature_is_refused() -> None:
    spec = v8_spec(owner=bitcoin_address(PrivateKey.generate().public_key))
    with pytest.raises(AppMessageError, match="Received signature is invalid"):
        await AppSpecChecker().check_registration(
            signed_body(spec, PrivateKey.generate()), HEIGHT, NOW
        )


async def test_signed_update_by_the_current_owner() -> None:
    owner_key = PrivateKey.generate()
    owner = bitcoin_address(owner_key.public_key)
    current = dict(format_spec(v8_spec(owner=owner)), height=HEIGHT - 100, hash="aa" * 32)
    update = v8_spec(owner=owner, compose=[component(cpu=2)])
    checker = AppSpecChecker()
    message = await checker.check_update(
        signed_body(update, owner_key, "fluxappupdate"), HEIGHT, NOW, current=current
    )
    assert (
        message["type"] == "fluxappupdate"
        and message["appSpecifications"]["compose"][0]["cpu"] == 2
    )
    with pytest.raises(AppSpecError, match="application to update does not exist"):
        await checker.check_update(
            signed_body(update, owner_key, "fluxappupdate"), HEIGHT, NOW, current=None
        )
    stranger = signed_body(update, PrivateKey.generate(), "fluxappupdate")
    with pytest.raises(AppMessageError, match="does not correspond with Flux App owner"):
        await checker.check_update(stranger, HEIGHT, NOW, current=current)
