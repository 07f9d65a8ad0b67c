"""Logging in to a Flux node from the client side: keys, signing and the login round trip.

The `fluxos keygen`, `fluxos sign` and `fluxos login` commands are thin wrappers over this,
so a curl user can get a `zelidauth` header without a wallet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fluxos.crypto import PrivateKey, bitcoin_address, eth_address, sign_eth_message, sign_message
from fluxos.errors import BadParameter, FluxError
from fluxos.identity.credentials import Credentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signer:
    """An identity that can sign: its ZelID (a `1…` or `0x…` address) and a sign function."""

    address: str
    sign: Callable[[str], str]


def bitcoin_signer(wif: str) -> Signer:
    """A ZelID signer from a WIF key (Bitcoin signed messages); BadParameter if not a WIF."""
    try:
        key = PrivateKey.from_wif(wif.strip())
    except ValueError as error:
        raise BadParameter(f"--key must be a WIF private key: {error}") from None
    return Signer(bitcoin_address(key.public_key), lambda text: sign_message(text, key))


def ethereum_signer(hex_key: str) -> Signer:
    """An Ethereum signer (personal_sign) from a 32-byte hex private key."""
    text = hex_key.strip().removeprefix("0x")
    try:
        key = PrivateKey.from_secret(bytes.fromhex(text), compressed=False)
    except ValueError as error:
        raise BadParameter(f"--eth-key must be 64 hex digits of a private key: {error}") from None
    return Signer(eth_address(key.public_key), lambda message: sign_eth_message(message, key))


def new_bitcoin_key() -> tuple[str, str]:
    """(ZelID address, WIF) of a fresh compressed key."""
    key = PrivateKey.generate(compressed=True)
    return bitcoin_address(key.public_key), key.to_wif()


def new_ethereum_key() -> tuple[str, str]:
    """(checksummed Ethereum address, 0x-hex private key) of a fresh key."""
    key = PrivateKey.generate(compressed=False)
    return eth_address(key.public_key), "0x" + key.secret.hex()


def login(base_url: str, signer: Signer, *, timeout: float = 30.0) -> Credentials:
    """Fetch a phrase, sign it and log in; the credentials to send as `zelidauth`.

    Falls back to the emergency phrase when the node refuses a normal one, as the Flux UI
    does. Raises FluxError with the node's message on failure.
    """
    base = base_url.rstrip("/")
    with httpx.Client(timeout=timeout) as http:
        phrase_reply = _envelope(http.get(f"{base}/id/loginphrase"))
        if phrase_reply["status"] != "success":
            log.warning(
                "node refused a login phrase (%s); using the emergency phrase",
                _message(phrase_reply),
            )
            phrase_reply = _envelope(http.get(f"{base}/id/emergencyphrase"))
            if phrase_reply["status"] != "success":
                raise FluxError(f"node refused a login phrase: {_message(phrase_reply)}")
        phrase = phrase_reply["data"]
        if not isinstance(phrase, str):
            raise FluxError(f"node answered a login phrase that is not text: {phrase!r}")
        signature = signer.sign(phrase)
        body = {"zelid": signer.address, "loginPhrase": phrase, "signature": signature}
        reply = _envelope(http.post(f"{base}/id/verifylogin", json=body))
    if reply["status"] != "success":
        raise FluxError(f"login refused: {_message(reply)}")
    return Credentials(signer.address, signature, phrase)


def _envelope(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        raise FluxError(
            f"{response.request.url} answered HTTP {response.status_code} without JSON"
        ) from None
    if not isinstance(body, dict) or "status" not in body:
        raise FluxError(f"{response.request.url} did not answer a Flux envelope")
    return body


def _message(reply: dict[str, object]) -> str:
    data = reply.get("data")
    if isinstance(data, dict):
        return str(data.get("message", data))
    return str(data)
