"""The eight privilege levels of the Flux API and the interface that decides them."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Permission(StrEnum):
    """A route's required privilege, named as upstream and the API document name them."""

    PUBLIC = "public"
    USER = "user"
    ADMIN = "admin"
    FLUXTEAM = "fluxteam"
    ADMINANDFLUXTEAM = "adminandfluxteam"
    APPOWNER = "appowner"
    APPOWNERABOVE = "appownerabove"
    APPOWNERORFLUXTEAM = "appownerorfluxteam"
    """upstream 8.18: the app's owner or the Flux team (and support team), not the node's
    owner: what takes a customer's files off the node is not its host's to do."""

    @property
    def needs_app(self) -> bool:
        return self in (
            Permission.APPOWNER,
            Permission.APPOWNERABOVE,
            Permission.APPOWNERORFLUXTEAM,
        )


class Authorizer(Protocol):
    """Decides whether the caller's `zelidauth` header grants a privilege level.

    `app_name` is the app the request is about, for the app-owner levels. Implementations
    never raise for a bad header: an unparsable or forged header simply grants nothing.
    """

    async def authorize(
        self, level: Permission, zelidauth: str | None, app_name: str | None = None
    ) -> bool: ...


class DenyAllAuthorizer:
    """Grants nothing above public; the node uses it until an identity service is wired."""

    async def authorize(
        self, level: Permission, zelidauth: str | None, app_name: str | None = None
    ) -> bool:
        return level is Permission.PUBLIC
