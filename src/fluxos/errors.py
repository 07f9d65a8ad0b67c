"""The one error hierarchy of fluxos.

Every failure a client can see is a `FluxError`; the API edge turns it into the
`{"status": "error", "data": {"code", "name", "message"}}` envelope in one place
(`fluxos.api.envelope`). Raise these, never return them.
"""

from __future__ import annotations

from typing import Any


class FluxError(Exception):
    """A failure reported to the caller with upstream's error envelope.

    `code` and `name` follow upstream: most errors are a plain JS `Error`, so `name`
    defaults to "Error" and `code` is absent unless the source (fluxd, a rule) gives one.
    """

    default_name = "Error"
    http_status = 200  # upstream answers errors with HTTP 200; clients read `status`

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None = None,
        name: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message or "Unknown error"
        self.code = code
        self.name = name or self.default_name
        if http_status is not None:
            self.http_status = http_status

    def to_data(self) -> dict[str, Any]:
        """The `data` member of the error envelope; absent fields are left out like JS undefined."""
        data: dict[str, Any] = {}
        if self.code is not None:
            data["code"] = self.code
        data["name"] = self.name
        data["message"] = self.message
        return data


class UnnamedError(FluxError):
    """An error envelope without `name`, as upstream's `createErrorMessage(message)` renders:
    `{"status":"error","data":{"message":…}}` (plus `code` when one is given)."""

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.code is not None:
            data["code"] = self.code
        data["message"] = self.message
        return data


class BadParameter(FluxError):
    """A request value is missing or breaks a rule; the message names both."""


class NotFound(FluxError):
    """The thing asked for does not exist."""


class Unauthorized(FluxError):
    """The caller lacks the privilege the route requires (upstream's fixed 401 envelope)."""

    default_name = "Unauthorized"

    def __init__(self, message: str = "Unauthorized. Access denied.") -> None:
        super().__init__(message, code=401)


class DaemonUnavailable(FluxError):
    """fluxd (or fluxbenchd) cannot be reached or is not ready (still loading).

    Answered with HTTP 503 and `Retry-After`, as upstream 8.18 does, so load balancers and
    clients retry later; the envelope still says what went wrong.
    """

    http_status = 503
    retry_after = 30


class NotManaged(FluxError):
    """The action needs a process this node does not run (an external fluxd, say)."""


class ConfigError(Exception):
    """A setting is invalid; raised at start, naming the key. Not a client-facing error."""
