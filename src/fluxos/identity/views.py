"""The wire shapes of identity's answers, byte for byte upstream's (identity.md §4–§6).

Keys keep upstream's spelling, `privilage` (sic) included, and dates are JavaScript ISO
strings. The routes get these from `IdentityService`; storage records stop here.
"""

from __future__ import annotations

from typing import Any

from fluxos.identity.phrases import js_iso
from fluxos.storage.identity import PhraseRecord, SessionRecord, SignatureRecord

LOGGED_IN = "Successfully logged in"


def login_data(session: SessionRecord, privilege: str) -> dict[str, Any]:
    """verifylogin's answer (and /ws/id's frame): the session and its privilege label."""
    data: dict[str, Any] = {
        "message": LOGGED_IN,
        "zelid": session.zelid,
        "loginPhrase": session.login_phrase,
    }
    if session.signature is not None:  # gone 60 s after login; upstream omits it then
        data["signature"] = session.signature
    data["privilage"] = privilege  # upstream's wire key
    data["createdAt"] = js_iso(session.created_ms)
    data["expireAt"] = js_iso(session.expire_ms)
    return data


def session_row(session: SessionRecord) -> dict[str, Any]:
    return {
        "zelid": session.zelid,
        "loginPhrase": session.login_phrase,
        "createdAt": js_iso(session.created_ms),
        "expireAt": js_iso(session.expire_ms),
    }


def phrase_row(phrase: PhraseRecord) -> dict[str, Any]:
    return {
        "loginPhrase": phrase.login_phrase,
        "createdAt": js_iso(phrase.created_ms),
        "expireAt": js_iso(phrase.expire_ms),
    }


def provided_signature(record: SignatureRecord) -> dict[str, Any]:
    """providesign's answer: the parked signature, its `_id` last."""
    return {**_signature_fields(record), "_id": record.id}


def delivered_signature(record: SignatureRecord) -> dict[str, Any]:
    """/ws/sign's frame data: the parked signature, its `_id` first."""
    return {"_id": record.id, **_signature_fields(record)}


def _signature_fields(record: SignatureRecord) -> dict[str, Any]:
    return {
        "signature": record.signature,
        "identifier": record.identifier,
        "createdAt": js_iso(record.created_ms),
        "expireAt": js_iso(record.expire_ms),
    }
