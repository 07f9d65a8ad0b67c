"""The signed envelope every node-originated message travels in (p2p.md §7).

`{"version":1,"timestamp":ms,"pubKey":hex,"signature":b64,"data":{…}}`; the signature is a
Bitcoin signed message over `"1" + JSON.stringify(data) + String(timestamp)` made with the
fluxnode key, and a receiver judges it against the originator's entry in the node list.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fluxos.crypto import PrivateKey, verify_message
from fluxos.network.messages import origin_address
from fluxos.network.nodelist import FluxnodeList
from fluxos.wire.jsvalues import number_to_string, stringify

ENVELOPE_VERSION = 1
MAX_FUTURE_SKEW_MS = 120_000
MAX_AGE_MS = 300_000


class Verdict(StrEnum):
    """Outcome of verifying an envelope, named as upstream's `verifyFluxBroadcast`."""

    OK = "OK"
    MALFORMED = "MALFORMED"
    NODE_NOT_FOUND = "NODE_NOT_FOUND"
    PUBKEY_MISMATCH = "PUBKEY_MISMATCH"
    BAD_SIGNATURE = "BAD_SIGNATURE"

    @property
    def blames_relay(self) -> bool:
        """Whether the peer that relayed it is at fault (a forgery or garbage)."""
        return self in (Verdict.MALFORMED, Verdict.PUBKEY_MISMATCH, Verdict.BAD_SIGNATURE)


REQUIRED_FIELDS = ("version", "timestamp", "pubKey", "signature", "data")


class Envelope:
    """A parsed envelope; `message` is the object as received (relayed as JS re-serialises it)."""

    __slots__ = ("_data_text", "message")

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        self._data_text: str | None = None

    def __repr__(self) -> str:
        return f"Envelope({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Envelope) and other.message == self.message

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def sign(cls, data: dict[str, Any], key: PrivateKey, timestamp_ms: int) -> Envelope:
        """Sign `data` as our node at `timestamp_ms`; keys in upstream's order."""
        from fluxos.crypto import sign_message

        signature = sign_message(signed_text(data, timestamp_ms), key)
        return cls(
            {
                "version": ENVELOPE_VERSION,
                "timestamp": timestamp_ms,
                "pubKey": key.public_key.hex(),
                "signature": signature,
                "data": data,
            }
        )

    @staticmethod
    def is_complete(message: dict[str, Any]) -> bool:
        """All five fields present and truthy, as upstream's dispatcher demands."""
        return all(message.get(field) for field in REQUIRED_FIELDS)

    @property
    def data(self) -> Any:
        return self.message.get("data")

    @property
    def timestamp(self) -> Any:
        return self.message.get("timestamp")

    @property
    def pub_key(self) -> str:
        value = self.message.get("pubKey")
        return value if isinstance(value, str) else ""

    @property
    def type(self) -> str:
        data = self.data
        kind = data.get("type") if isinstance(data, dict) else None
        return kind if isinstance(kind, str) else ""

    @property
    def data_text(self) -> str:
        """`JSON.stringify(data)`, computed once (the signature and the wire text share it)."""
        if self._data_text is None:
            self._data_text = stringify(self.message.get("data"))
        return self._data_text

    def to_json(self) -> str:
        """The wire text: `JSON.stringify` of the envelope as received or built."""
        message = self.message
        if tuple(message) != REQUIRED_FIELDS:
            return stringify(message)
        head = stringify({key: message[key] for key in REQUIRED_FIELDS[:4]})
        return f'{head[:-1]},"data":{self.data_text}}}'

    def age_ms(self, now_ms: int) -> float:
        timestamp = self.timestamp
        return now_ms - timestamp if _is_number(timestamp) else float("inf")

    def verify(self, nodes: FluxnodeList, now_ms: int) -> Verdict:
        """Upstream's `verifyFluxBroadcast` (§7.1), without the staleness check."""
        message = self.message
        version = message.get("version")
        if not _is_number(version) or version != ENVELOPE_VERSION:
            return Verdict.MALFORMED
        data = message.get("data")
        if not isinstance(data, dict) or not data.get("type"):
            return Verdict.MALFORMED
        timestamp = message.get("timestamp")
        if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
            return Verdict.MALFORMED
        if now_ms < timestamp - MAX_FUTURE_SKEW_MS:
            return Verdict.MALFORMED
        pub_key = message.get("pubKey")
        signature = message.get("signature")
        if not isinstance(pub_key, str) or not isinstance(signature, str):
            return Verdict.MALFORMED
        origin = origin_address(data)
        if origin is not None:
            node = nodes.at(origin) if isinstance(origin, str) and origin else None
            if node is None:
                return Verdict.NODE_NOT_FOUND
            if node.pubkey != pub_key:
                return Verdict.PUBKEY_MISMATCH
        elif not nodes.owns_node(pub_key):
            return Verdict.NODE_NOT_FOUND
        text = f"{ENVELOPE_VERSION}{self.data_text}{number_to_string(timestamp)}"
        if not verify_message(text, pub_key, signature):
            return Verdict.BAD_SIGNATURE
        return Verdict.OK


def signed_text(data: Any, timestamp: int | float) -> str:
    """The exact string a node signs: `"1" + JSON.stringify(data) + String(timestamp)`."""
    return f"{ENVELOPE_VERSION}{stringify(data)}{number_to_string(timestamp)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
