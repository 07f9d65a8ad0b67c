"""Errors of the apps runtime; all are `FluxError`s the API edge renders."""

from __future__ import annotations

from fluxos.errors import FluxError


class DockerUnavailable(FluxError):
    """The node's Docker engine cannot be reached: apps cannot be installed or controlled.

    Answered with HTTP 503 and `Retry-After`, like an unreachable fluxd, so clients retry;
    the envelope names the engine's address and why it did not answer.
    """

    http_status = 503
    retry_after = 30


class DockerError(FluxError):
    """The Docker engine refused a request; the message is the engine's own explanation."""


class InstallError(FluxError):
    """An app could not be installed here; whatever the attempt made has been removed."""


class Settling(FluxError):
    """The node has just started and is bringing its apps back; control waits for that."""

    http_status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
