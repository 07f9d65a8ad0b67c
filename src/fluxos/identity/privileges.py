"""Privilege resolution for the eight permission levels (identity.md §8.2).

Each level is three checks, cheapest first: an identity condition on the zelid (who may
hold the level at all), a session condition (a live session, or for some levels a fresh
phrase no session holds), then the signature over the phrase. The first two are pure
functions below; `IdentityAuthorizer` gathers their inputs (session store, app owners,
config IDs, clock) and is the `fluxos.wire.permissions.Authorizer` the node uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cachetools import LRUCache

from fluxos.clock import Clock
from fluxos.crypto import verify_message
from fluxos.identity.credentials import Credentials, parse_zelidauth
from fluxos.identity.phrases import HOUR_MS, is_fresh
from fluxos.wire.permissions import Permission

log = logging.getLogger(__name__)

# Stateless windows: a signed phrase no session holds still proves who the caller is, if
# it is recent. Wallets and other nodes relay such headers (app-owner calls between nodes).
USER_FRESHNESS_MS = 16 * HOUR_MS
APP_OWNER_FRESHNESS_MS = 2 * HOUR_MS

SignatureVerifier = Callable[[str, str, str], bool]


@dataclass(frozen=True)
class PrivilegedIds:
    """The configured IDs privileges are compared against (exact, case-sensitive)."""

    owner: str
    flux_team: str
    flux_support_team: str

    @property
    def team(self) -> tuple[str, str]:
        return (self.flux_team, self.flux_support_team)

    def is_owner(self, zelid: str) -> bool:
        return bool(self.owner) and zelid == self.owner

    def is_team(self, zelid: str) -> bool:
        return zelid in self.team


class AppOwners(Protocol):
    """Who owns an app; the apps registry implements it."""

    async def owner_of(self, app_name: str) -> str | None:
        """The owner's zelid of `app_name` (case-insensitive), None if no such app."""
        ...


class NoAppOwners:
    """Finds no owner: the node's lookup until the apps registry exists."""

    async def owner_of(self, app_name: str) -> str | None:
        return None


class SessionLookup(Protocol):
    async def has_session(self, zelid: str, login_phrase: str, now_ms: int) -> bool: ...


def app_of(name: str | None) -> str | None:
    """The app a route's name refers to: `component_app` → `app`; None if empty."""
    if not name:
        return None
    _, underscore, app = name.partition("_")
    return (app if underscore else name) or None


def login_label(zelid: str, ids: PrivilegedIds) -> str:
    """The `privilage` verifylogin reports: team first, then owner, else user."""
    if ids.is_team(zelid):
        return "fluxteam"
    if ids.is_owner(zelid):
        return "admin"
    return "user"


def identity_holds(
    level: Permission, zelid: str, ids: PrivilegedIds, app_owner: str | None
) -> bool:
    """Whether `zelid` may hold `level` at all (for app levels, given the app's owner)."""
    owns_app = app_owner is not None and app_owner != "" and zelid == app_owner
    match level:
        case Permission.PUBLIC | Permission.USER:
            return True
        case Permission.ADMIN:
            return ids.is_owner(zelid)
        case Permission.FLUXTEAM:
            return ids.is_team(zelid)
        case Permission.ADMINANDFLUXTEAM:
            return ids.is_owner(zelid) or ids.is_team(zelid)
        case Permission.APPOWNER:
            return owns_app
        case Permission.APPOWNERABOVE:
            return owns_app or ids.is_owner(zelid) or ids.is_team(zelid)
        case Permission.APPOWNERORFLUXTEAM:
            return owns_app or ids.is_team(zelid)
    return False


def freshness_window(level: Permission) -> int | None:
    """How old a phrase no session holds may be for `level`; None: a session is required."""
    if level is Permission.USER:
        return USER_FRESHNESS_MS
    if level.needs_app:
        return APP_OWNER_FRESHNESS_MS
    return None


def session_condition_holds(
    level: Permission, login_phrase: str, has_session: bool, now_ms: int
) -> bool:
    """A live session, or (for user and app levels) a fresh phrase."""
    if has_session:
        return True
    window = freshness_window(level)
    return window is not None and is_fresh(login_phrase, now_ms, window)


class IdentityAuthorizer:
    """Decides privilege levels from `zelidauth` headers; never raises for bad input."""

    def __init__(
        self,
        ids: PrivilegedIds,
        sessions: SessionLookup,
        owners: AppOwners,
        clock: Clock,
        verify: SignatureVerifier = verify_message,
        cache_size: int = 4096,
    ) -> None:
        self.ids = ids
        self.sessions = sessions
        self.owners = owners
        self.clock = clock
        self._verify = verify
        # Verification is a pure function of its inputs, and a logged-in client presents
        # the same triple on every call: remember recent answers.
        self._verified: LRUCache[tuple[str, str, str], bool] = LRUCache(maxsize=cache_size)

    async def authorize(
        self, level: Permission, zelidauth: str | None, app_name: str | None = None
    ) -> bool:
        """The `fluxos.wire.permissions.Authorizer` contract over the raw header value."""
        if level is Permission.PUBLIC:
            return True
        return await self.holds(level, parse_zelidauth(zelidauth), app_name)

    async def holds(
        self, level: Permission, credentials: Credentials | None, app_name: str | None = None
    ) -> bool:
        """Whether `credentials` grant `level` now (for app levels, over `app_name`)."""
        if level is Permission.PUBLIC:
            return True
        if credentials is None:
            return False
        try:
            app_owner: str | None = None
            if level.needs_app:
                app = app_of(app_name)
                if app is None:
                    return False
                app_owner = await self.owners.owner_of(app)
            if not identity_holds(level, credentials.zelid, self.ids, app_owner):
                return False
            now_ms = self.clock.millis()
            has_session = await self.sessions.has_session(
                credentials.zelid, credentials.login_phrase, now_ms
            )
            if not session_condition_holds(level, credentials.login_phrase, has_session, now_ms):
                return False
            return self.signature_valid(credentials)
        except Exception:
            # An authorisation check that cannot complete denies; the operator learns why.
            log.exception("privilege check for %s (%s) failed; denying", credentials.zelid, level)
            return False

    def signature_valid(self, credentials: Credentials) -> bool:
        key = (credentials.login_phrase, credentials.zelid, credentials.signature)
        known = self._verified.get(key)
        if known is None:
            known = self._verify(*key)
            self._verified[key] = known
        return known
