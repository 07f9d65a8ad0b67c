"""Errors of the app specification logic; all are `FluxError`s the API edge can render."""

from __future__ import annotations

from fluxos.errors import BadParameter, FluxError


class AppSpecError(BadParameter):
    """An app specification breaks a rule; the message names the field and the rule."""


class AppMessageError(BadParameter):
    """A signed app message (register/update body) is incomplete, stale, or badly signed."""


class ServiceUnavailable(FluxError):
    """An external service a check depends on cannot be reached and has no fallback."""
