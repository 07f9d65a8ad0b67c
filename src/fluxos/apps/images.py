"""Image checks of the registration and update API (§3.4): blocklists and architectures.

The block lists come from GitHub and the architectures from docker registries; both
sit behind small protocols, and the offline implementations answer "unavailable".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.specs import AppSpec, components, is_compose

logger = logging.getLogger(__name__)

SUPPORTED_ARCHITECTURES = ("amd64", "arm64")
ENTERPRISE_ARCHITECTURES = ("amd64",)  # Arcane nodes are amd64-only


class RepositoryLists(Protocol):
    """Flux's curated lists (helpers/*.json on GitHub); None when unreachable."""

    async def blocked_repositories(self) -> list[str] | None: ...

    async def vetted_repositories(self) -> list[str] | None: ...

    async def whitelisted_repositories(self) -> list[Any] | None:
        """helpers/repositories.json as published; only served, never enforced (§3.4.4)."""
        ...


class ImageRegistry(Protocol):
    """Looks an image up in its registry."""

    async def architectures(
        self, repotag: str, *, repoauth: str, spec_version: int, app_name: str
    ) -> list[str]:
        """Supported architectures of `repotag`; AppSpecError if it is missing or too big,
        ServiceUnavailable if the registry cannot be asked."""
        ...


class OfflineRepositoryLists:
    """No network: the lists are unavailable."""

    async def blocked_repositories(self) -> list[str] | None:
        return None

    async def vetted_repositories(self) -> list[str] | None:
        return None

    async def whitelisted_repositories(self) -> list[Any] | None:
        return None


class OfflineImageRegistry:
    """No network: no registry can be asked."""

    async def architectures(
        self, repotag: str, *, repoauth: str, spec_version: int, app_name: str
    ) -> list[str]:
        raise ServiceUnavailable(f"Docker registry of {repotag} cannot be reached from this node")


def _without_tag(reference: str) -> str:
    # Upstream cuts at the last ':' even when it belongs to a registry port.
    cut = reference.rfind(":")
    return reference if cut < 0 else reference[:cut]


def _without_name(repository: str) -> str:
    cut = repository.rfind("/")
    return repository if cut < 0 else repository[:cut]


def _images_and_organisations(spec: AppSpec) -> tuple[list[str], list[str]]:
    images = [_without_tag(str(component["repotag"])) for component in components(spec)]
    return images, [_without_name(image) for image in images]


def _is_vetted(spec: AppSpec, vetted: Sequence[str]) -> bool:
    pure = {_without_tag(entry) for entry in vetted}
    if spec.get("owner") in pure or spec.get("hash") in pure:
        return True
    images, organisations = _images_and_organisations(spec)
    return any(name in pure or name.lower() in pure for name in (*images, *organisations))


async def check_image_compliance(
    spec: AppSpec, lists: RepositoryLists, user_blocked: Iterable[str] = ()
) -> None:
    """Raise if Flux or this node's operator blocks the app's owner, hash or images."""
    blocked = await lists.blocked_repositories()
    if blocked is None:
        raise ServiceUnavailable("Unable to communicate with Flux Services! Try again later.")
    pure = {_without_tag(entry) for entry in blocked}
    name = spec.get("name")
    if spec.get("hash") in pure:
        raise AppSpecError(f"{spec['hash']} is not allowed to be spawned")
    if spec.get("owner") in pure:
        raise AppSpecError(f"{spec['owner']} is not allowed to run applications")
    images, organisations = _images_and_organisations(spec)
    for image in images:
        if image in pure:
            raise AppSpecError(f"Image {image} is blocked. Application {name} cannot be spawned.")
    for organisation in organisations:
        if organisation in pure:
            raise AppSpecError(
                f"Organisation {organisation} is blocked. Application {name} cannot be spawned."
            )
    operator_blocked = {entry.lower() for entry in user_blocked}
    if not operator_blocked:
        return
    if _is_vetted(spec, await lists.vetted_repositories() or []):
        logger.info("%s is vetted: the node operator's blocked repositories do not apply", name)
        return
    for organisation in organisations:
        if organisation.lower() in operator_blocked:
            raise AppSpecError(
                f"Organisation {organisation} is user blocked."
                f" Application {name} cannot be spawned."
            )
    for image in images:
        if image.lower() in operator_blocked:
            raise AppSpecError(
                f"Image {image} is user blocked. Application {name} cannot be spawned."
            )


def check_operator_allows(repotag: str, user_blocked: Iterable[str]) -> None:
    """Raise if the node operator's `blockedRepositories` name the image or its organisation."""
    operator_blocked = {entry.lower() for entry in user_blocked}
    image = _without_tag(repotag)
    organisation = _without_name(image)
    if organisation.lower() in operator_blocked:
        raise AppSpecError(f"Organisation {organisation} is user blocked on this node.")
    if image.lower() in operator_blocked:
        raise AppSpecError(f"Image {image} is user blocked on this node.")


async def check_image_architectures(spec: AppSpec, registry: ImageRegistry) -> None:
    """Every image must exist, and the components must share an architecture.

    Enterprise (v8) apps must support amd64 on every component.
    """
    version = int(spec["version"])
    found: list[tuple[str, str, list[str]]] = []
    for component in components(spec):
        repoauth = str(component.get("repoauth", "")) if is_compose(spec) else ""
        if version == 7 and repoauth:
            # Consensus quirk: v7 credentials are PGP-encrypted for the selected nodes only,
            # and upstream stops checking the remaining components here.
            logger.info("skipping image checks of %s: v7 private repository", spec.get("name"))
            return
        architectures = await registry.architectures(
            str(component["repotag"]),
            repoauth=repoauth,
            spec_version=version,
            app_name=str(spec.get("name")),
        )
        found.append((str(component["name"]), str(component["repotag"]), architectures))
    if not is_compose(spec):
        return
    name = spec.get("name")
    if version >= 8 and spec.get("enterprise"):
        missing = [
            f"{c} ({r})" for c, r, archs in found if not set(ENTERPRISE_ARCHITECTURES) <= set(archs)
        ]
        if missing:
            required = ", ".join(ENTERPRISE_ARCHITECTURES)
            raise AppSpecError(
                f"Enterprise application '{name}' must support {required} architecture on ALL"
                f" components. The following components do not support {required}:"
                f" {', '.join(missing)}. Arcane nodes are amd64-only."
            )
        return
    common = (
        [arch for arch in found[0][2] if all(arch in archs for _, _, archs in found)]
        if found
        else []
    )
    if not common:
        details = "\n".join(f"  - {c} ({r}): {', '.join(archs) or 'none'}" for c, r, archs in found)
        choices = " or ".join(SUPPORTED_ARCHITECTURES)
        raise AppSpecError(
            f"Application '{name}' components do not share a common architecture. All components"
            f" must support at least one common architecture ({choices})."
            f" Component architectures:\n{details}"
        )


class DevnetRepositoryLists:
    """A devnet's lists: Flux's when they can be fetched, else empty ones.

    A devnet (`fluxos cluster`, `Settings.development`) must work without the internet;
    mainnet keeps refusing a registration it cannot check against the block list.
    """

    def __init__(self, lists: RepositoryLists) -> None:
        self._lists = lists

    async def blocked_repositories(self) -> list[str] | None:
        blocked = await self._lists.blocked_repositories()
        if blocked is None:
            logger.warning("devnet: Flux's block list cannot be fetched; nothing is blocked")
            return []
        return blocked

    async def vetted_repositories(self) -> list[str] | None:
        vetted = await self._lists.vetted_repositories()
        return [] if vetted is None else vetted

    async def whitelisted_repositories(self) -> list[Any] | None:
        return await self._lists.whitelisted_repositories()


class DevnetImageRegistry:
    """A devnet's image lookups: the image's registry when it answers; when it cannot be
    reached, the image is taken as built for every supported architecture (and the log says
    so). A registry that answers and refuses the image still refuses the registration."""

    def __init__(self, registry: ImageRegistry) -> None:
        self._registry = registry

    async def architectures(
        self, repotag: str, *, repoauth: str, spec_version: int, app_name: str
    ) -> list[str]:
        try:
            return await self._registry.architectures(
                repotag, repoauth=repoauth, spec_version=spec_version, app_name=app_name
            )
        except ServiceUnavailable as error:
            logger.warning("devnet: %s; %s of %s is not checked", error.message, repotag, app_name)
            return list(SUPPORTED_ARCHITECTURES)
