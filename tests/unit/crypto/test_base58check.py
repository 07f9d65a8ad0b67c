"""Base58Check encoding and its failure modes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluxos.crypto import b58check_decode, b58check_encode


@given(st.binary(max_size=80))
def test_round_trip(payload: bytes) -> None:
    assert b58check_decode(b58check_encode(payload)) == payload


def test_leading_zero_bytes_become_ones() -> None:
    text = b58check_encode(b"\x00\x00" + bytes(range(1, 21)))
    assert text.startswith("11") and not text.startswith("111")


def test_decodes_a_known_address() -> None:
    payload = b58check_decode("1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF")
    assert len(payload) == 21 and payload[0] == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12355",  # identity.md §13 B4: bad checksum
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtG",  # last character changed
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF ",  # the base58 library would strip this
        " 1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF",
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJt0",  # '0' is not base58
        "IKoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF",  # 'I' is not base58
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtF\n",
        "1KoXq8mLxpNt3BSnNLq2HzKC39Ne2pVJtFé",
    ],
)
def test_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        b58check_decode(text)
