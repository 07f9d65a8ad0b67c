import json

import pytest

from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.identity import Credentials, parse_zelidauth
from fluxos.identity.credentials import credentials_from

KEY = PrivateKey.from_wif("KyL927pfsyZnJhFq5gQGy5eWq9tRYuAppRGiLjvBJGMvMwCqWYmv")
ZELID = bitcoin_address(KEY.public_key)
PHRASE = "1652757506000cl4joxxaevbx93gwhegqj1fqsubhb9tsg9s3hjkbuk8"
SIGNATURE = (
    "H0uECFYOXysQVHah5cOTqrlxrZkutl6eaqwc7agovYKcIoqAD8OQWM3uRntl7vIshznPH4toA5jOfI2Lib5Bh+M="
)
EXPECTED = Credentials(ZELID, SIGNATURE, PHRASE)


def test_json_form() -> None:
    header = json.dumps({"zelid": ZELID, "signature": SIGNATURE, "loginPhrase": PHRASE})
    assert parse_zelidauth(header) == EXPECTED


def test_query_string_form_with_encoded_signature() -> None:
    header = EXPECTED.header_qs()
    assert "%2B" in header and "+" not in header  # the UI's qs.stringify encodes '+'
    assert parse_zelidauth(header) == EXPECTED
    reordered = f"loginPhrase={PHRASE}&signature={SIGNATURE.replace('+', '%2B')}&zelid={ZELID}"
    assert parse_zelidauth(reordered) == EXPECTED


def test_unencoded_plus_in_query_string_is_rescued() -> None:
    # qs turns '+' into a space; base64 has no spaces, so the '+' is put back
    header = f"zelid={ZELID}&signature={SIGNATURE}&loginPhrase={PHRASE}"
    assert parse_zelidauth(header) == EXPECTED


def test_round_trips_of_the_header_forms() -> None:
    made = Credentials(ZELID, sign_message(PHRASE, KEY), PHRASE)
    assert parse_zelidauth(made.header_qs()) == made
    assert parse_zelidauth(made.header_json()) == made


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "not a header",
        "{broken json",
        "null",
        "[1, 2]",
        json.dumps({"zelid": ZELID, "signature": SIGNATURE}),
        json.dumps({"zelid": ZELID, "signature": "", "loginPhrase": PHRASE}),
        json.dumps({"zelid": 5, "signature": SIGNATURE, "loginPhrase": PHRASE}),
        f"zelid={ZELID}&loginPhrase={PHRASE}",
    ],
)
def test_unusable_headers_grant_nothing(header: str | None) -> None:
    assert parse_zelidauth(header) is None


def test_credentials_from_object() -> None:
    assert credentials_from(EXPECTED.as_object()) == EXPECTED
    assert credentials_from(None) is None
