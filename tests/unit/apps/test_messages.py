from dataclasses import replace
from typing import Any

import pytest
from tests.unit.apps.spec_samples import seed_data, seed_spec, v3_spec, v8_spec, vector_id, vectors

from fluxos.apps.errors import AppMessageError
from fluxos.apps.formatter import format_spec, legacy_orderings
from fluxos.apps.messages import (
    is_expire_only_update,
    is_marketplace_app,
    message_hash,
    parse_signed_message,
    sign_spec,
    signed_text,
    verify_message_hash,
    verify_registration_signature,
    verify_update_signature,
)
from fluxos.apps.params import MAINNET, TeamSupportAddress
from fluxos.crypto import PrivateKey, bitcoin_address, eth_address, sign_message

SEED = seed_data()
NOW = 1_750_000_000_000
HEIGHT = 2_200_000


def owned_spec(key: PrivateKey, eth: bool = False, **changes: Any) -> dict[str, Any]:
    owner = eth_address(key.public_key) if eth else bitcoin_address(key.public_key)
    return format_spec(v8_spec(owner=owner, **changes))


@pytest.mark.parametrize("vector", vectors("message.signedString"), ids=vector_id)
def test_signed_text_vector(vector: dict[str, Any]) -> None:
    given = vector["input"]
    text = signed_text(
        given["type"], given["version"], format_spec(given["appSpecifications"]), given["timestamp"]
    )
    assert text == vector["expected"]["messageToVerify"]


def test_message_hash_of_the_seed_registration() -> None:
    spec = format_spec(SEED["spec"])
    digest = message_hash(
        "fluxappregister", 1, spec, SEED["register_timestamp"], SEED["register_signature"]
    )
    assert digest == "898a3bf528c4bc8020f712f184c376f2ea700e9ef8c0132d26aca88a4fd36cee"


def test_seed_signature_verifies_in_the_legacy_v7_order() -> None:
    # The seed's sample was signed with secrets before repoauth, the pre-2025 order.
    spec = format_spec(SEED["spec"])
    timestamp, signature = SEED["register_timestamp"], SEED["register_signature"]
    verify_registration_signature("fluxappregister", 1, spec, timestamp, signature)
    with pytest.raises(AppMessageError, match="Received signature is invalid"):
        verify_registration_signature("fluxappregister", 1, spec, timestamp + 1, signature)
    with pytest.raises(AppMessageError):
        verify_registration_signature(
            "fluxappregister", 1, dict(spec, instances=4), timestamp, signature
        )


def test_hash_verification_accepts_the_legacy_orders() -> None:
    spec = format_spec(SEED["spec"])
    message = {
        "type": "fluxappregister",
        "version": 1,
        "appSpecifications": spec,
        "timestamp": SEED["register_timestamp"],
        "signature": SEED["register_signature"],
    }
    legacy = legacy_orderings(spec)[0]
    for ordering in (spec, legacy):
        parts = ("fluxappregister", 1, ordering, message["timestamp"], message["signature"])
        verify_message_hash(dict(message, hash=message_hash(*parts)))
    with pytest.raises(AppMessageError, match="Invalid Flux App hash received"):
        verify_message_hash(dict(message, hash="00" * 32))


def test_v3_specs_verify_with_repotag_before_owner() -> None:
    key = PrivateKey.generate()
    spec = format_spec(v3_spec(owner=bitcoin_address(key.public_key)))
    old_order = legacy_orderings(spec)[0]
    assert list(old_order)[3:5] == ["repotag", "owner"]
    signature = sign_spec(old_order, key, message_type="zelappregister", timestamp=NOW)
    verify_registration_signature("zelappregister", 1, spec, NOW, signature)


@pytest.mark.parametrize("eth", [False, True])
def test_owner_signature_round_trip(eth: bool) -> None:
    key = PrivateKey.generate()
    spec = owned_spec(key, eth)
    signature = sign_spec(spec, key, message_type="fluxappregister", timestamp=NOW)
    assert signature.startswith("0x") == eth
    verify_registration_signature("fluxappregister", 1, spec, NOW, signature)


def test_ethereum_owners_only_after_the_cut_over() -> None:
    key = PrivateKey.generate()
    spec = owned_spec(key, eth=True)
    early = MAINNET.eth_signatures_from_timestamp
    signature = sign_spec(spec, key, message_type="fluxappregister", timestamp=early)
    with pytest.raises(AppMessageError):
        verify_registration_signature("fluxappregister", 1, spec, early, signature)


def test_signing_with_someone_elses_key_fails() -> None:
    spec = owned_spec(PrivateKey.generate())
    with pytest.raises(AppMessageError, match="does not belong to the app owner"):
        sign_spec(spec, PrivateKey.generate(), message_type="fluxappregister", timestamp=NOW)


def test_malformed_message_parts() -> None:
    with pytest.raises(AppMessageError, match="Invalid Flux App message specifications"):
        verify_registration_signature("fluxappregister", 1, v8_spec(), "1", "sig")  # type: ignore[arg-type]


def test_update_signed_by_the_current_owner_not_the_spec_owner() -> None:
    current, new_owner = PrivateKey.generate(), PrivateKey.generate()
    spec = owned_spec(new_owner)  # the update hands the app to a new owner
    signature = sign_message(signed_text("fluxappupdate", 1, spec, NOW), current)
    previous = owned_spec(current)
    current_owner = bitcoin_address(current.public_key)
    verify_update_signature(
        "fluxappupdate",
        1,
        spec,
        NOW,
        signature,
        owner=current_owner,
        height=HEIGHT,
        previous=previous,
    )
    with pytest.raises(AppMessageError, match="does not correspond with Flux App owner"):
        verify_update_signature(
            "fluxappupdate",
            1,
            spec,
            NOW,
            signature,
            owner=spec["owner"],
            height=HEIGHT,
            previous=previous,
        )


@pytest.mark.parametrize(
    ("name", "height", "allowed"),
    [
        ("wordpress1700000000000", HEIGHT, True),
        ("wordpress", HEIGHT, False),  # not a marketplace deployment
        ("wordpress1700000000000", 999, False),  # the support address starts at 1000
    ],
)
def test_support_address_may_update_marketplace_apps(name: str, height: int, allowed: bool) -> None:
    support = PrivateKey.generate()
    params = replace(
        MAINNET,
        team_support_addresses=(TeamSupportAddress(1_000, bitcoin_address(support.public_key)),),
    )
    owner = bitcoin_address(PrivateKey.generate().public_key)
    spec = format_spec(v8_spec(owner=owner, name=name))
    signature = sign_message(signed_text("fluxappupdate", 1, spec, NOW), support)
    arguments = ("fluxappupdate", 1, spec, NOW, signature)
    if allowed:
        verify_update_signature(
            *arguments, owner=owner, height=height, previous=spec, params=params
        )
    else:
        with pytest.raises(AppMessageError):
            verify_update_signature(
                *arguments, owner=owner, height=height, previous=spec, params=params
            )


def test_users_to_extend_may_only_change_expire() -> None:
    extender = PrivateKey.generate()
    params = replace(MAINNET, users_to_extend=(bitcoin_address(extender.public_key),))
    owner = bitcoin_address(PrivateKey.generate().public_key)
    previous = dict(format_spec(v8_spec(owner=owner)), height=HEIGHT - 10, hash="ee" * 32)

    def check(spec: dict[str, Any]) -> None:
        signature = sign_message(signed_text("fluxappupdate", 1, spec, NOW), extender)
        verify_update_signature(
            "fluxappupdate",
            1,
            spec,
            NOW,
            signature,
            owner=owner,
            height=HEIGHT,
            previous=previous,
            params=params,
        )

    check(format_spec(v8_spec(owner=owner, expire=176000)))
    with pytest.raises(AppMessageError):
        check(format_spec(v8_spec(owner=owner, expire=176000, instances=4)))


def test_expire_only_comparison_is_strict_about_types() -> None:
    base = format_spec(seed_spec())
    assert is_expire_only_update(dict(base, expire=44000), dict(base, height=5, hash="h"))
    assert not is_expire_only_update(dict(base, staticip=True), base)
    assert not is_expire_only_update(dict(base, instances=True), dict(base, instances=1))


def test_marketplace_names() -> None:
    assert is_marketplace_app("wp1700000000000x")
    assert not is_marketplace_app("wp1577836800000") and not is_marketplace_app("app")


def body(**changes: Any) -> dict[str, Any]:
    message = {
        "type": "fluxappregister",
        "version": 1,
        "appSpecification": v8_spec(),
        "timestamp": NOW,
        "signature": "sig",
    }
    message.update(changes)
    return message


def test_parse_signed_message_accepts_both_spec_keys() -> None:
    parsed = parse_signed_message(body(), "register", NOW)
    assert parsed.spec == v8_spec() and parsed.timestamp == NOW
    documented = body()
    documented["appSpecifications"] = documented.pop("appSpecification")
    assert parse_signed_message(documented, "register", NOW).spec == v8_spec()
    assert parse_signed_message(body(appSpecification='{"a": 1}'), "register", NOW).spec == {"a": 1}


@pytest.mark.parametrize(
    ("changes", "kind", "message"),
    [
        (
            {"signature": ""},
            "register",
            "Check if appSpecification, type, version, timestamp and signature",
        ),
        (
            {"signature": ""},
            "update",
            "Check if appSpecification, timestamp, type, version and signature",
        ),
        ({"type": "fluxappupdate"}, "register", "Invalid type of message"),
        ({"type": "fluxappregister"}, "update", "Invalid type of message"),
        ({"version": "1"}, "register", "Invalid version of message"),
        ({"timestamp": NOW - 3_600_001}, "register", "Message timestamp is over 1 hour old"),
        ({"timestamp": NOW + 300_001}, "register", "Message timestamp from future"),
        ({"timestamp": "soon"}, "register", "timestamp must be an integer"),
    ],
)
def test_parse_signed_message_rejections(changes: dict[str, Any], kind: str, message: str) -> None:
    if kind == "update" and "type" not in changes:
        changes = {**changes, "type": "fluxappupdate"}
    with pytest.raises(AppMessageError) as error:
        parse_signed_message(body(**changes), kind, NOW)  # type: ignore[arg-type]
    assert message in error.value.message
