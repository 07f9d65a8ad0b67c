"""An `Authorizer` for tests of protected routes before the identity service is wired:
a request carrying `zelidauth: <token>` holds every privilege, any other holds none."""

from __future__ import annotations

from fluxos.wire.permissions import Permission


class TokenAuthorizer:
    def __init__(self, token: str) -> None:
        self.token = token

    async def authorize(
        self, level: Permission, zelidauth: str | None, app_name: str | None = None
    ) -> bool:
        return level is Permission.PUBLIC or zelidauth == self.token
