"""What travels between peers: the signed message types (p2p.md §9) and the unsigned
peer-level JSON frames (hash announce/request, NAK, peer exchange; §8, §10)."""

from __future__ import annotations

import re
from typing import Any

# data.type → the payload field naming the originator's socket address (§7.1 step 4)
ORIGIN_FIELD = {
    "fluxapprunning": "ip",
    "fluxappinstalling": "ip",
    "fluxappinstallingerror": "ip",
    "fluxappremoved": "ip",
    "fluxnodesigterm": "ip",
    "fluxipchanged": "oldIP",
}

# data.type → how fresh (ms) the envelope must be to be re-announced (§7.3)
RELAY_WINDOW_MS = {
    "fluxapprunning": 240_000,
    "fluxipchanged": 240_000,
    "fluxappremoved": 240_000,
    "fluxnodesigterm": 240_000,
    "fluxappinstalling": 300_000,
    "fluxappinstallingerror": 300_000,
}
DEFAULT_RELAY_WINDOW_MS = 300_000

# types answered point to point, never gossiped (§9)
NEVER_RELAYED = frozenset(
    {
        "fluxapprequest",
        "fluxapptempsync",
        "fluxapprunningsync",
        "fluxappinstallingsync",
        "fluxappinstallingerrorssync",
    }
)
_HASH = re.compile(r"^[0-9a-f]{40}$")
NAK_STALE = "stale"


def origin_address(data: dict[str, Any]) -> Any:
    """The payload's claimed originator address for types bound to one node, else None."""
    field = ORIGIN_FIELD.get(str(data.get("type")))
    if field is None:
        return None
    value = data.get(field)
    return value if value is not None else ""


def relay_window_ms(kind: str) -> int:
    return RELAY_WINDOW_MS.get(kind, DEFAULT_RELAY_WINDOW_MS)


def is_message_hash(value: Any) -> bool:
    """A 40-character hash as upstream checks it (length only; we also want hex)."""
    return isinstance(value, str) and len(value) == 40


def hash_present(message_hash: str) -> dict[str, str]:
    return {"messageHashPresent": message_hash}


def hash_request(message_hash: str) -> dict[str, str]:
    return {"requestMessageHash": message_hash}


def nak(message_hash: str, reason: str = NAK_STALE) -> dict[str, str]:
    return {"type": "nak", "hash": message_hash, "reason": reason}


def strip_transmission_stamp(text: str) -> tuple[int | None, str]:
    """(sender's ms timestamp or None, frame text without the prefix) — §5 step 3."""
    if not text.startswith("T"):
        return None, text
    bar = text.find("|", 2, 16)
    if bar < 0:
        return None, text
    digits = text[1:bar]
    if not digits.isdigit() or int(digits) <= 0:
        return None, text
    return int(digits), text[bar + 1 :]


def normalised_hash(value: Any) -> str | None:
    """The lowercase 40-hex form of a hash from a frame, or None if it is not one."""
    if not is_message_hash(value):
        return None
    lowered = value.lower()
    return lowered if _HASH.match(lowered) else None
