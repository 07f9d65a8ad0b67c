"""Identity test helpers: keys made in the test, the §13 vectors, an app-owner table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fluxos.crypto import PrivateKey, bitcoin_address, eth_address, sign_eth_message, sign_message
from fluxos.identity import Credentials

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "identity.json"


def load_vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


class Person:
    """A fresh key (ZelID, or Ethereum with `eth`) and the credentials it can present."""

    def __init__(self, *, eth: bool = False) -> None:
        self.key = PrivateKey.generate(compressed=not eth)
        self.eth = eth
        public = self.key.public_key
        self.zelid = eth_address(public) if eth else bitcoin_address(public)

    def sign(self, phrase: str) -> str:
        if self.eth:
            return sign_eth_message(phrase, self.key)
        return sign_message(phrase, self.key)

    def credentials(self, phrase: str) -> Credentials:
        return Credentials(self.zelid, self.sign(phrase), phrase)

    def login_body(self, phrase: str) -> dict[str, str]:
        return self.credentials(phrase).as_object()


class OwnerTable:
    """App owners by name: stands in for the apps registry behind `AppOwners` until it exists."""

    def __init__(self, owners: dict[str, str]) -> None:
        self.owners = {name.lower(): owner for name, owner in owners.items()}

    async def owner_of(self, app_name: str) -> str | None:
        return self.owners.get(app_name.lower())
