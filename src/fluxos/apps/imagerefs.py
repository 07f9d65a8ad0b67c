"""Image references and registry credentials as app specifications write them (§3.4).

A repotag is `[HOST[:PORT]/][NAMESPACE/]REPOSITORY:TAG`; without a host it lives on
Docker Hub, and a one-part Docker Hub name is an official image under `library/`.
`repoauth` holds `username:password` (v8, opened from the enterprise blob).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass

from fluxos.apps.errors import AppSpecError, ServiceUnavailable

DOCKER_HUB = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB})
_FORMAT = "[HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY[:TAG]"
# Docker's reference grammar: lowercase path components joined by . _ __ or dashes.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"\w[\w.-]{0,127}")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?"
)
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)://")


@dataclass(frozen=True)
class ImageReference:
    """Where an image lives: registry host, repository path and tag."""

    repotag: str
    registry: str
    repository: str
    tag: str

    @property
    def image(self) -> str:
        """The repotag without its tag, as block lists name images."""
        return self.repotag[: -len(self.tag) - 1]

    @property
    def base_url(self) -> str:
        """The registry's API root for this repository.

        Loopback registries speak plain HTTP, as Docker allows them by default
        (127.0.0.0/8 is always an insecure registry); every other one speaks HTTPS.
        """
        scheme = "http" if _is_loopback(self.registry) else "https"
        return f"{scheme}://{self.registry}/v2/{self.repository}"


def _is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_repotag(repotag: object) -> ImageReference:
    """Split a repotag into registry, repository and tag; AppSpecError names the rule broken."""
    if not isinstance(repotag, str) or not repotag:
        raise AppSpecError("Invalid Docker Image Tag")
    if re.search(r"\s", repotag):
        raise AppSpecError(f'Image tag: "{repotag}" should not contain space characters.')
    if repotag.startswith("/") or repotag.endswith("/"):
        raise AppSpecError(f'Image tag: "{repotag}" cannot start or end with a backslash.')
    invalid = AppSpecError(f"Image tag: {repotag} is not in valid format {_FORMAT}")
    parts = repotag.split("/")
    registry = DOCKER_HUB
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.fullmatch(first):
            raise invalid
        registry = DOCKER_HUB if first in _DOCKER_HUB_ALIASES else first
        parts = parts[1:]
    name, colon, tag = parts[-1].partition(":")
    if not colon:
        raise AppSpecError(
            f"Image tag: {repotag} has no tag; use the format"
            " [HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY:TAG"
        )
    path = [*parts[:-1], name]
    if not _TAG.fullmatch(tag) or not all(_PATH_COMPONENT.fullmatch(part) for part in path):
        raise invalid
    if registry == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]  # Docker Hub's official images
    return ImageReference(repotag=repotag, registry=registry, repository="/".join(path), tag=tag)


@dataclass(frozen=True)
class Credentials:
    """A registry login; `repr` hides the password so it never reaches a log line."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def parse_repoauth(repoauth: object) -> Credentials | None:
    """`username:password` as Credentials, None when empty; AppSpecError otherwise.

    Cloud-provider schemes (`aws-ecr://…`, `azure-acr://…`, `google-gar://…`) need the
    providers' token services, which this node does not talk to.
    """
    if repoauth is None or repoauth == "":
        return None
    if not isinstance(repoauth, str):
        raise AppSpecError("repoauth must be a string")
    text = repoauth.strip()
    if not text:
        return None
    scheme = _SCHEME.match(text)
    if scheme:
        raise AppSpecError(
            f"repoauth provider {scheme.group(1)}:// is not supported by this node;"
            ' use "username:password"'
        )
    username, colon, password = text.partition(":")
    if not colon:
        raise AppSpecError('repoauth must be "username:password"')
    if not username.strip():
        raise AppSpecError("repoauth username cannot be empty")
    return Credentials(username.strip(), password.strip())


def spec_credentials(repoauth: str, spec_version: int) -> Credentials | None:
    """The credentials of a component's `repoauth` in a spec of `spec_version`."""
    if not repoauth:
        return None
    if spec_version < 7:
        raise AppSpecError(f"repoauth is not part of app specifications v{spec_version}")
    if spec_version == 7:
        # v7 credentials are PGP-encrypted to the app's selected nodes.
        raise ServiceUnavailable(
            "repoauth of v7 apps is encrypted for the app's nodes and cannot be read here"
        )
    return parse_repoauth(repoauth)
