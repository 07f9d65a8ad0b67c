"""OP_RETURN text decoding with upstream's JavaScript semantics (explorer.md §4.4)."""

import math

import pytest

from fluxos.explorer.memo import decode_message, js_parse_int_hex


@pytest.mark.parametrize(
    ("asm", "message"),
    [
        ("OP_RETURN 74657374", "test"),
        # spaces between pushes are read as part of the hex pairs
        ("OP_RETURN 74657374 74657374 74657374", "test\u0007FW7\u0004test"),
        ("test123", ""),
        ("OP_RETURN ", ""),
        ("OP_RETURN", ""),
        ("OP_RETURN 7465007374", "te"),  # stops at a 00 pair
        ("OP_RETURN 746", "t\u0006"),  # an odd tail is one digit
        ("OP_RETURN 74zz74", "t\u0000t"),  # not hex → NaN → U+0000
        ("OP_RETURN -174", "\ufffft"),  # parseInt("-1") = -1 → U+FFFF
        # JS split(…, 2)[1] is the text between the first and a second "OP_RETURN "
        ("OP_RETURN 7465 OP_RETURN 7374", "te\u0000"),
        ("OP_DUP OP_HASH160 0123 OP_EQUALVERIFY OP_CHECKSIG", ""),
    ],
)
def test_decode_message(asm: str, message: str) -> None:
    assert decode_message(asm) == message


def test_app_hash_round_trip() -> None:
    app_hash = "5501c7dd6516c3fc2e68dee8d4fdd20d92f57f8cfcdc7b4fcbad46499e43ed6f"
    assert decode_message("OP_RETURN " + app_hash.encode().hex()) == app_hash


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("74", 0x74),
        (" 7", 7),
        ("4 ", 4),
        ("0x", math.nan),
        ("-f", -15),
        ("+a", 10),
        ("g1", math.nan),
    ],
)
def test_parse_int_hex(text: str, value: float) -> None:
    result = js_parse_int_hex(text)
    assert (math.isnan(result) and math.isnan(value)) or result == value
