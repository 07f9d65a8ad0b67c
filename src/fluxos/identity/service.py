"""The identity service: login phrases, ZelID login, sessions, parked signatures.

Route handlers and the websocket endpoints call one method each (the `*_view` methods
answer the wire shape of `fluxos.identity.views`); validation messages are upstream's
exact texts (identity.md §4–§6, §12), since wallets and the UI show them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from fluxos.clock import Clock
from fluxos.crypto import verify_message
from fluxos.errors import FluxError
from fluxos.identity import views
from fluxos.identity.credentials import Credentials, credentials_from
from fluxos.identity.gates import LoginGates
from fluxos.identity.notifications import Notifier, wait_for_event
from fluxos.identity.phrases import (
    MIN_PHRASE_LENGTH,
    PARKED_SIGNATURE_LIFETIME_MS,
    PHRASE_LIFETIME_MS,
    SESSION_LIFETIME_MS,
    SIGNATURE_HANDOVER_MS,
    new_login_phrase,
    phrase_timestamp,
)
from fluxos.identity.privileges import (
    AppOwners,
    IdentityAuthorizer,
    PrivilegedIds,
    SignatureVerifier,
    login_label,
)
from fluxos.storage.identity import IdentityStore, PhraseRecord, SessionRecord, SignatureRecord
from fluxos.wire.permissions import Permission

log = logging.getLogger(__name__)

NO_LONGER_VALID = "Signed message is no longer valid. Please request a new one."
_BASE58_ZELID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{25,34}$")
_ETH_ZELID = re.compile(r"^0x[a-fA-F0-9]{40}$")
PURGE_INTERVAL_SECONDS = 60.0
RECHECK_SECONDS = 5.0  # waiters re-read the store this often even without a wake-up
IDENTIFIER_SUFFIX = 13


@dataclass(frozen=True)
class Login:
    """A successful login: the new session (signature included) and its label."""

    session: SessionRecord
    privilege: str  # "admin", "fluxteam" or "user"


class WaitLookupFailed(FluxError):
    """The store failed while a websocket waited; `stage` says which lookup."""

    def __init__(self, stage: str, error: Exception) -> None:
        # The driver's own error, as upstream reports it (not SQLAlchemy's wrapper and SQL).
        cause = getattr(error, "orig", None) or error
        super().__init__(str(cause), name=type(cause).__name__)
        self.stage = stage


class IdentityService:
    """Everything behind /id/* and the /ws/id, /ws/sign websockets."""

    def __init__(
        self,
        store: IdentityStore,
        ids: PrivilegedIds,
        clock: Clock,
        gates: LoginGates,
        owners: AppOwners,
        *,
        verify: SignatureVerifier = verify_message,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.store = store
        self.ids = ids
        self.clock = clock
        self.gates = gates
        self.verify = verify
        self.recheck_seconds = recheck_seconds
        self.authorizer = IdentityAuthorizer(ids, store, owners, clock, verify)
        self.notifier = Notifier()

    # -- phrases ------------------------------------------------------------------------
    async def login_phrase(self) -> str:
        """A new phrase, after the node-health gates (§3.2)."""
        await self.gates.check()
        return await self.emergency_phrase()

    async def emergency_phrase(self) -> str:
        """A new phrase without the gates: the way in when the node is unwell."""
        now_ms = self.clock.millis()
        phrase = new_login_phrase(now_ms)
        await self.store.add_phrase(PhraseRecord(phrase, now_ms, now_ms + PHRASE_LIFETIME_MS))
        return phrase

    async def active_phrases(self) -> list[PhraseRecord]:
        return await self.store.active_phrases(self.clock.millis())

    async def active_phrases_view(self) -> list[dict[str, Any]]:
        return [views.phrase_row(phrase) for phrase in await self.active_phrases()]

    # -- login --------------------------------------------------------------------------
    async def verify_login(self, body: dict[str, Any]) -> Login:
        """Check a signed phrase (§4) and open a session; raises with upstream's message."""
        address, message, signature = _signed_fields(body)
        now_ms = self.clock.millis()
        stamp = phrase_timestamp(message)
        if stamp is None or stamp < now_ms - PHRASE_LIFETIME_MS or stamp > now_ms:
            raise FluxError("Signed message is not valid")
        if signature is None or signature == "":
            raise FluxError("No signature is specified")
        if not stamp < now_ms:  # upstream: a phrase must be strictly older than now
            raise FluxError(NO_LONGER_VALID)
        # The signature is checked before the store is read: it costs a fraction of a
        # lookup, and a good one goes straight to the consuming write. The answers stay
        # upstream's: an unknown phrase is "no longer valid" whatever the signature.
        if not isinstance(signature, str) or not self.verify(message, address, signature):
            if await self.store.find_phrase(message, now_ms) is None:
                raise FluxError(NO_LONGER_VALID)
            raise FluxError("Invalid signature")
        session = SessionRecord(
            zelid=address,
            login_phrase=message,
            signature=signature,
            created_ms=stamp,
            expire_ms=stamp + SESSION_LIFETIME_MS,
        )
        # Consuming the phrase and opening the session is one transaction: a replay, even
        # a concurrent one, finds the phrase gone.
        if not await self.store.consume_phrase_into_session(
            session, now_ms + SIGNATURE_HANDOVER_MS, now_ms
        ):
            raise FluxError(NO_LONGER_VALID)
        log.info("%s logged in (session valid until phrase time + 14 days)", address)
        self.notifier.notify(_login_key(message))
        return Login(session, login_label(address, self.ids))

    async def verify_login_view(self, body: dict[str, Any]) -> dict[str, Any]:
        """`verify_login`, answered as /id/verifylogin does."""
        login = await self.verify_login(body)
        return views.login_data(login.session, login.privilege)

    async def provide_sign(self, body: dict[str, Any]) -> SignatureRecord:
        """Park a signature for the browser waiting on /ws/sign (§5); not verified, as upstream."""
        address, message, signature = _signed_fields(body)
        if signature is None or signature == "":
            raise FluxError("No signature is specified")
        if not isinstance(signature, str):
            raise FluxError("signature must be a string")
        now_ms = self.clock.millis()
        record = SignatureRecord(
            id=_object_id(now_ms),
            signature=signature,
            identifier=address + message[-IDENTIFIER_SUFFIX:],
            created_ms=now_ms,
            expire_ms=now_ms + PARKED_SIGNATURE_LIFETIME_MS,
        )
        await self.store.add_signature(record)
        self.notifier.notify(_signature_key(record.identifier))
        return record

    async def provide_sign_view(self, body: dict[str, Any]) -> dict[str, Any]:
        """`provide_sign`, answered as /id/providesign does."""
        return views.provided_signature(await self.provide_sign(body))

    async def check_privilege(self, body: dict[str, Any]) -> str | None:
        """The highest of admin → fluxteam → user the body's credentials hold, else None."""
        if not body.get("zelid"):
            raise FluxError("No user Flux ID specificed")
        if not body.get("loginPhrase"):
            raise FluxError("No user loginPhrase specificed")
        if not body.get("signature"):
            raise FluxError("No user Flux ID signature specificed")
        credentials = credentials_from(body)
        for level in (Permission.ADMIN, Permission.FLUXTEAM, Permission.USER):
            if await self.authorizer.holds(level, credentials):
                return level.value
        return None

    # -- sessions -----------------------------------------------------------------------
    async def sessions_of(self, caller: Credentials) -> list[SessionRecord]:
        return await self.store.sessions_of(caller.zelid, self.clock.millis())

    async def all_sessions(self) -> list[SessionRecord]:
        return await self.store.all_sessions(self.clock.millis())

    async def sessions_view(self, caller: Credentials) -> list[dict[str, Any]]:
        return [views.session_row(session) for session in await self.sessions_of(caller)]

    async def all_sessions_view(self) -> list[dict[str, Any]]:
        return [views.session_row(session) for session in await self.all_sessions()]

    async def logout_current(self, caller: Credentials) -> None:
        """Delete the caller's session for this phrase; nothing to delete is fine."""
        await self.store.delete_session(caller.zelid, caller.login_phrase)

    async def logout_all(self, caller: Credentials) -> int:
        removed = await self.store.delete_sessions_of(caller.zelid)
        log.info("%s logged out of %d sessions", caller.zelid, removed)
        return removed

    async def logout_phrase(self, login_phrase: Any) -> bool:
        """Delete the session holding `login_phrase`, whoever owns it; whether one existed.

        Knowing a session's phrase is the capability to end it (upstream's contract).
        """
        if not isinstance(login_phrase, str) or not login_phrase:
            raise FluxError("loginPhrase is required: the login phrase of the session to log out")
        return await self.store.delete_session_by_phrase(login_phrase, self.clock.millis())

    async def logout_everyone(self) -> int:
        removed = await self.store.delete_all_sessions()
        log.info("all users logged out (%d sessions)", removed)
        return removed

    # -- websocket waits ----------------------------------------------------------------
    async def await_login(self, login_phrase: str) -> SessionRecord | None:
        """The session once `login_phrase` is logged in; None once the phrase is gone.

        Waits no longer than the phrase lives. Raises WaitLookupFailed("session" or
        "phrase") if the store fails.
        """
        with self.notifier.listen(_login_key(login_phrase)) as woken:
            while True:
                woken.clear()
                now_ms = self.clock.millis()
                try:
                    session = await self.store.session_by_phrase(login_phrase, now_ms)
                except Exception as error:
                    raise WaitLookupFailed("session", error) from error
                if session is not None:
                    return session
                try:
                    phrase = await self.store.find_phrase(login_phrase, now_ms)
                except Exception as error:
                    raise WaitLookupFailed("phrase", error) from error
                if phrase is None:
                    # The login may have committed between the two reads (it deletes the
                    # phrase and creates the session at once): look for the session again.
                    try:
                        return await self.store.session_by_phrase(login_phrase, now_ms)
                    except Exception as error:
                        raise WaitLookupFailed("session", error) from error
                await self._sleep(woken, phrase.expire_ms - now_ms)

    async def await_login_view(self, login_phrase: str) -> dict[str, Any] | None:
        """`await_login`, answered as /ws/id's success frame data."""
        session = await self.await_login(login_phrase)
        if session is None:
            return None
        return views.login_data(session, login_label(session.zelid, self.ids))

    async def await_signature_view(self, identifier: str) -> dict[str, Any] | None:
        """`await_signature`, answered as /ws/sign's success frame data."""
        record = await self.await_signature(identifier)
        return None if record is None else views.delivered_signature(record)

    async def await_signature(self, identifier: str) -> SignatureRecord | None:
        """The signature parked under `identifier`; None after a parked signature's lifetime.

        Raises WaitLookupFailed("signature") if the store fails.
        """
        deadline_ms = self.clock.millis() + PARKED_SIGNATURE_LIFETIME_MS
        with self.notifier.listen(_signature_key(identifier)) as woken:
            while True:
                woken.clear()
                now_ms = self.clock.millis()
                try:
                    record = await self.store.find_signature(identifier, now_ms)
                except Exception as error:
                    raise WaitLookupFailed("signature", error) from error
                if record is not None:
                    return record
                if now_ms >= deadline_ms:
                    return None
                await self._sleep(woken, deadline_ms - now_ms)

    async def _sleep(self, woken: asyncio.Event, remaining_ms: int) -> None:
        # Re-check at least every `recheck_seconds`, so a clock that jumps (or a row
        # written by another process) is noticed without a wake-up.
        await wait_for_event(woken, min(self.recheck_seconds, max(remaining_ms, 0) / 1000))

    # -- expiry -------------------------------------------------------------------------
    async def purge_expired(self) -> None:
        counts = await self.store.purge_expired(self.clock.millis())
        if counts.phrases or counts.sessions or counts.signatures or counts.signatures_dropped:
            log.debug(
                "identity expiry: %d phrases, %d sessions, %d parked signatures removed; "
                "%d session signatures dropped",
                counts.phrases,
                counts.sessions,
                counts.signatures,
                counts.signatures_dropped,
            )

    async def purge_loop(self) -> None:
        """Background task: upstream's TTL indexes, as a sweep once a minute."""
        while True:
            await self.purge_expired()
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)


def _signed_fields(body: dict[str, Any]) -> tuple[str, str, Any]:
    """(address, message, signature) with §4 checks 1–5; the signature is checked by callers.

    Aliases follow upstream's `a || b`: `zelid` then `address`, `loginPhrase` then `message`.
    """
    address = body.get("zelid") or body.get("address")
    if address is None or address == "":
        raise FluxError("No Flux ID is specified")
    if not isinstance(address, str) or not _valid_zelid(address):
        raise FluxError("Flux ID is not valid")
    message = body.get("loginPhrase") or body.get("message")
    if message is None or message == "":
        raise FluxError("No message is specified")
    if not isinstance(message, str) or len(message) < MIN_PHRASE_LENGTH:
        raise FluxError("Signed message is not valid")
    return address, message, body.get("signature")


def _valid_zelid(address: str) -> bool:
    """Only P2PKH-style `1…` base58 IDs and `0x…` Ethereum addresses can log in."""
    if address.startswith("1"):
        return _BASE58_ZELID.match(address) is not None
    if address.startswith("0"):
        return _ETH_ZELID.match(address) is not None
    return False


def _object_id(now_ms: int) -> str:
    """24 hex digits shaped like a MongoDB ObjectId (seconds, then random), for `_id`."""
    return f"{now_ms // 1000 & 0xFFFFFFFF:08x}" + secrets.token_hex(8)


def _login_key(login_phrase: str) -> str:
    return "login:" + login_phrase


def _signature_key(identifier: str) -> str:
    return "sign:" + identifier
