"""The `zelidauth` header: the (zelid, signature, loginPhrase) triple a caller presents.

Clients send it as JSON (`{"zelid": …, "signature": …, "loginPhrase": …}`, the CLI and
docs) or as a query string (`zelid=…&signature=…&loginPhrase=…`, what the official UI
stores), parsed with upstream's `ensureObject` rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fluxos.wire.bodies import ensure_object, stringify_qs


@dataclass(frozen=True)
class Credentials:
    """A caller's claim: `zelid` signed `login_phrase`, giving `signature`."""

    zelid: str
    signature: str
    login_phrase: str

    def as_object(self) -> dict[str, str]:
        return {"zelid": self.zelid, "signature": self.signature, "loginPhrase": self.login_phrase}

    def header_qs(self) -> str:
        """The query-string header value, signature URL-encoded (ready for curl -H)."""
        return stringify_qs(self.as_object())

    def header_json(self) -> str:
        return json.dumps(self.as_object(), separators=(",", ":"))


def credentials_from(value: Any) -> Credentials | None:
    """The triple from a parsed object; None unless all three are non-empty strings."""
    if not isinstance(value, dict):
        return None
    zelid, signature, phrase = value.get("zelid"), value.get("signature"), value.get("loginPhrase")
    if not (_text(zelid) and _text(signature) and _text(phrase)):
        return None
    return Credentials(str(zelid), str(signature), str(phrase))


def parse_zelidauth(header: str | None) -> Credentials | None:
    """Credentials from a `zelidauth` value in JSON or query-string form; None if unusable.

    A bad header grants nothing; only JSON nested too deeply to parse raises
    `NestedTooDeep` naming the header, so the caller gets the parameter error envelope.
    """
    if not header:
        return None
    is_json = header.lstrip().startswith("{")
    credentials = credentials_from(ensure_object(header, "zelidauth header"))
    if credentials is None or is_json or " " not in credentials.signature:
        return credentials
    # In the query-string form an unencoded '+' of the base64 signature arrives as a space.
    # Base64 has no spaces, so putting the '+' back only rescues signatures that would
    # otherwise fail; the signature is still verified.
    return Credentials(
        credentials.zelid, credentials.signature.replace(" ", "+"), credentials.login_phrase
    )


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""
