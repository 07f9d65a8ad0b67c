"""The direct-libsecp256k1 recovery path agrees with coincurve's public API."""

from __future__ import annotations

import coincurve
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxos.crypto import PrivateKey, sha256
from fluxos.crypto.recovery import recover_public_key


@settings(max_examples=50)
@given(st.binary(max_size=64), st.booleans())
def test_matches_coincurve(message: bytes, compressed: bool) -> None:
    key = PrivateKey.generate(compressed=compressed)
    digest = sha256(message)
    signature = key.sign_recoverable(digest)
    ours = recover_public_key(signature[:64], signature[64], digest, compressed)
    theirs = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    assert ours == theirs.format(compressed=compressed) == key.public_key


@settings(max_examples=100)
@given(st.binary(min_size=64, max_size=64), st.integers(0, 3), st.binary(min_size=32, max_size=32))
def test_random_input_recovers_or_raises_value_error(rs: bytes, recid: int, digest: bytes) -> None:
    try:
        pubkey = recover_public_key(rs, recid, digest, True)
    except ValueError:
        return
    assert len(pubkey) == 33 and pubkey[0] in (2, 3)


@pytest.mark.parametrize(
    ("rs", "recid", "digest"),
    [(bytes(63), 0, bytes(32)), (bytes(64), 4, bytes(32)), (bytes(64), 0, bytes(31))],
)
def test_rejects_wrong_shapes(rs: bytes, recid: int, digest: bytes) -> None:
    with pytest.raises(ValueError):
        recover_public_key(rs, recid, digest, True)
