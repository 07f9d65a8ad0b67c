"""A Docker Registry HTTP API v2 client: does an image exist, for which architectures, how big.

It answers the registration API's image checks (§3.4) the way `docker pull` resolves an
image: fetch the manifest by tag; on 401 follow the `WWW-Authenticate` challenge (Bearer:
get a token from the realm, as Docker Hub and ghcr.io want; Basic: send the credentials);
a manifest list or OCI index names one manifest per platform, each manifest lists its
layers, and a single manifest's architecture is in its config blob.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
from cachetools import TLRUCache

from fluxos import __version__
from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.imagerefs import Credentials, ImageReference, parse_repotag, spec_credentials
from fluxos.apps.images import SUPPORTED_ARCHITECTURES
from fluxos.apps.params import MAINNET, AppParams
from fluxos.clock import Clock, SystemClock
from fluxos.errors import FluxError
from fluxos.tls import client_context

logger = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_LIST))

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # manifests and image configs are a few KB
SUCCESS_TTL = 3600.0
REJECTION_TTL = 3600.0  # the registry answered: missing tag, too big, wrong architecture
OUTAGE_TTL = 300.0  # the registry could not be asked; retry soon
RATE_LIMIT_TTL = 2 * 3600.0

_CHALLENGE = re.compile(r"\s*([A-Za-z]+)\s+(.*)", re.DOTALL)
_AUTH_PARAM = re.compile(r'\s*([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    """A parsed `WWW-Authenticate` header: `Bearer realm=…,service=…,scope=…` or `Basic …`."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge of a `WWW-Authenticate` header; None if it is not one."""
    match = _CHALLENGE.fullmatch(header or "")
    if match is None:
        return None
    params: dict[str, str] = {}
    for param in _AUTH_PARAM.finditer(match.group(2)):
        quoted, bare = param.group(2), param.group(3)
        params[param.group(1).lower()] = (
            re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        )
    scheme = match.group(1).lower()
    if scheme not in ("bearer", "basic") or (scheme == "bearer" and not params.get("realm")):
        return None
    return Challenge(scheme, params)


@dataclass(frozen=True)
class RegistryImage:
    """What the registry says about an image: size in bytes per supported architecture."""

    reference: ImageReference
    sizes: dict[str, int]

    @property
    def architectures(self) -> list[str]:
        return list(self.sizes)


@dataclass
class _Session:
    """One image lookup: its reference, credentials and the authorization it earned."""

    reference: ImageReference
    credentials: Credentials | None
    authorization: str | None = None
    auth_configured: bool = False
    auth_verified: bool = False  # a token service accepted us, so a 401 now means "no such image"


class DockerRegistryClient:
    """`ImageRegistry` over the Docker Registry HTTP API v2, with a result cache.

    Results are cached per image and credentials: found images for an hour, registry
    refusals (missing tag, too big, no supported architecture) for an hour, and outages
    for five minutes (two hours when the registry rate-limits us).
    """

    def __init__(
        self,
        params: AppParams = MAINNET,
        *,
        clock: Clock | None = None,
        timeout: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._params = params
        self._http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=True,  # blobs are often served from a storage redirect
            headers={"User-Agent": f"fluxos/{__version__}"},
            transport=transport,
            verify=client_context(),
        )
        self._results: TLRUCache[tuple[str, str], tuple[float, RegistryImage | FluxError]] = (
            TLRUCache(
                maxsize=2048,
                ttu=lambda _key, value, now: now + value[0],
                timer=(clock or SystemClock()).monotonic,
            )
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def architectures(
        self, repotag: str, *, repoauth: str, spec_version: int, app_name: str
    ) -> list[str]:
        """Supported architectures of a component's image (the `ImageRegistry` protocol)."""
        credentials = spec_credentials(repoauth, spec_version)
        image = await self.inspect(repotag, credentials)
        logger.info(
            "image %s of %s: %s", repotag, app_name, ", ".join(image.architectures) or "none"
        )
        return image.architectures

    async def inspect(self, repotag: str, credentials: Credentials | None = None) -> RegistryImage:
        """The image's supported architectures and sizes; AppSpecError if it cannot be used,
        ServiceUnavailable if the registry cannot be asked."""
        reference = parse_repotag(repotag)
        key = (repotag, _fingerprint(credentials))
        cached = self._results.get(key)
        if cached is not None:
            if isinstance(cached[1], FluxError):
                raise cached[1]
            return cached[1]
        try:
            image = await self._lookup(_Session(reference, credentials))
        except ServiceUnavailable as error:
            ttl = RATE_LIMIT_TTL if "429" in error.message else OUTAGE_TTL
            self._results[key] = (ttl, error)
            logger.warning("registry lookup of %s failed: %s", repotag, error.message)
            raise
        except AppSpecError as error:
            self._results[key] = (REJECTION_TTL, error)
            logger.info("registry refused %s: %s", repotag, error.message)
            raise
        self._results[key] = (SUCCESS_TTL, image)
        return image

    # -- the lookup ----------------------------------------------------------------------
    async def _lookup(self, session: _Session) -> RegistryImage:
        reference = session.reference
        manifest, media_type = await self._manifest(session, reference.tag)
        if manifest.get("schemaVersion") != 2:
            raise AppSpecError(
                f"Unsupported schemaVersion: {manifest.get('schemaVersion')} for:"
                f" {reference.repotag}"
            )
        media_type = manifest.get("mediaType") or media_type
        sizes: dict[str, int] = {}
        if media_type in INDEX_TYPES:
            for architecture, digest in self._platforms(manifest, reference):
                child, child_type = await self._manifest(session, digest)
                child_type = child.get("mediaType") or child_type
                if child_type not in MANIFEST_TYPES:
                    raise AppSpecError(
                        f"Unsupported Media type: {child_type} for: {reference.repotag}"
                        f" ({architecture})"
                    )
                sizes[architecture] = _layers_size(child, reference)
        elif media_type in MANIFEST_TYPES:
            architecture = await self._config_architecture(session, manifest)
            if architecture not in SUPPORTED_ARCHITECTURES:
                raise AppSpecError(
                    f"Docker image: {reference.repotag} does not have a valid architecture"
                    f" ({architecture}; supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
                )
            sizes[architecture] = _layers_size(manifest, reference)
        else:
            raise AppSpecError(f"Unsupported Media type: {media_type} for: {reference.repotag}")
        too_big = [arch for arch, size in sizes.items() if size > self._params.max_image_size]
        if too_big:
            raise AppSpecError(f"Docker image: {reference.repotag} size is over Flux limit")
        return RegistryImage(reference, sizes)

    @staticmethod
    def _platforms(index: dict[str, Any], reference: ImageReference) -> list[tuple[str, str]]:
        """(architecture, digest) of the index's entries we can run, first per architecture."""
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise AppSpecError(f"Docker image: {reference.repotag} has a malformed manifest list")
        chosen: dict[str, str] = {}
        for entry in entries:
            platform = entry.get("platform") if isinstance(entry, dict) else None
            architecture = platform.get("architecture") if isinstance(platform, dict) else None
            digest = entry.get("digest") if isinstance(entry, dict) else None
            if architecture in SUPPORTED_ARCHITECTURES and isinstance(digest, str):
                chosen.setdefault(architecture, digest)
        if not chosen:
            raise AppSpecError(
                f"Docker image: {reference.repotag} does not have a valid architecture"
            )
        return list(chosen.items())

    async def _manifest(self, session: _Session, reference: str) -> tuple[dict[str, Any], str]:
        url = f"{session.reference.base_url}/manifests/{reference}"
        body, content_type = await self._get(session, url, ACCEPT)
        if reference.startswith("sha256:"):
            _check_digest(body, reference, session.reference)
        return _json_object(body, session.reference, "manifest"), content_type

    async def _config_architecture(self, session: _Session, manifest: dict[str, Any]) -> str:
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str):
            raise AppSpecError(
                f"Docker image: {session.reference.repotag} manifest names no config blob"
            )
        url = f"{session.reference.base_url}/blobs/{digest}"
        body, _ = await self._get(session, url, "application/json, */*")
        _check_digest(body, digest, session.reference)
        architecture = _json_object(body, session.reference, "image config").get("architecture")
        return str(architecture) if architecture else "unknown"

    # -- HTTP and the auth dance ---------------------------------------------------------
    async def _get(self, session: _Session, url: str, accept: str) -> tuple[bytes, str]:
        reference = session.reference
        status, headers, body = await self._send(session, url, accept)
        if status == 401 and not session.auth_configured:
            challenge = parse_challenge(headers.get("www-authenticate"))
            if challenge is None:
                raise AppSpecError(f"Malformed Auth Header: {reference.repotag} not available")
            await self._authorize(session, challenge)
            status, headers, body = await self._send(session, url, accept)
        if status == 200:
            return body, headers.get("content-type", "").split(";")[0].strip()
        if status == 401:
            if session.auth_verified:
                raise AppSpecError(
                    f"Authentication failed: {reference.repotag} not available or doesn't exist"
                )
            raise AppSpecError(f"Authentication rejected for: {reference.repotag}")
        detail = _registry_error(body)
        message = f"Bad HTTP Status {status}: {reference.repotag} not available{detail}"
        if status == 429 or status >= 500:
            raise ServiceUnavailable(message)
        raise AppSpecError(message)

    async def _send(
        self, session: _Session, url: str, accept: str
    ) -> tuple[int, httpx.Headers, bytes]:
        headers = {"Accept": accept}
        if session.authorization:
            headers["Authorization"] = session.authorization
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                limit = MAX_DOCUMENT_BYTES if response.status_code == 200 else 64 * 1024
                body = await _read_limited(response, limit, session.reference)
                return response.status_code, response.headers, body
        except httpx.HTTPError as error:
            raise ServiceUnavailable(
                f"Connection Error: {session.reference.repotag} not available"
                f" ({session.reference.registry}: {type(error).__name__} {error})"
            ) from None

    async def _authorize(self, session: _Session, challenge: Challenge) -> None:
        reference = session.reference
        credentials = session.credentials
        if challenge.scheme == "basic":
            if credentials is None:
                raise AppSpecError(
                    f"Basic authentication required but no credentials provided"
                    f" for {reference.repotag} (repoauth)"
                )
            session.authorization = credentials.basic_header()
            session.auth_configured = True
            return
        realm = challenge.params["realm"]
        if not realm.startswith(("https://", "http://")):
            raise AppSpecError(f"Malformed Auth Header: {reference.repotag} not available")
        scope = challenge.params.get("scope") or f"repository:{reference.repository}:pull"
        query = {"scope": scope}
        if challenge.params.get("service"):
            query["service"] = challenge.params["service"]
        auth = (credentials.username, credentials.password) if credentials else None
        unavailable = ServiceUnavailable(
            f"Authentication token from {realm} for {scope} not available"
        )
        try:
            response = await self._http.get(realm, params=query, auth=auth)
        except httpx.HTTPError as error:
            logger.warning("token service %s unreachable: %s", realm, error)
            raise unavailable from None
        if response.status_code in (401, 403):
            raise AppSpecError(f"Authentication rejected for: {reference.repotag}")
        try:
            answer = response.json() if response.status_code == 200 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = None
        token = (
            (answer.get("token") or answer.get("access_token"))
            if isinstance(answer, dict)
            else None
        )
        if not isinstance(token, str) or not token:
            logger.warning(
                "token service %s answered %d without a token", realm, response.status_code
            )
            raise unavailable
        session.authorization = f"Bearer {token}"
        session.auth_configured = True
        session.auth_verified = True


async def _read_limited(response: httpx.Response, limit: int, reference: ImageReference) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise AppSpecError(
                f"Docker image: {reference.repotag}: registry answer over {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(body: bytes, reference: ImageReference, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise AppSpecError(f"Docker image: {reference.repotag} {what} is not a JSON object")
    return document


def _check_digest(body: bytes, digest: str, reference: ImageReference) -> None:
    algorithm, _, expected = digest.partition(":")
    if algorithm == "sha256" and hashlib.sha256(body).hexdigest() != expected:
        raise AppSpecError(
            f"Docker image: {reference.repotag}: registry content does not match digest {digest}"
        )


def _layers_size(manifest: dict[str, Any], reference: ImageReference) -> int:
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise AppSpecError(f"Docker image: {reference.repotag} manifest lists no layers")
    sizes = [layer.get("size") if isinstance(layer, dict) else None for layer in layers]
    if not all(isinstance(size, int) and size >= 0 for size in sizes):
        raise AppSpecError(f"Docker image: {reference.repotag} manifest has a layer without size")
    return sum(sizes)  # type: ignore[arg-type]


def _registry_error(body: bytes) -> str:
    """The registry's own reason (`{"errors":[{"message":…}]}`), for the error message."""
    try:
        errors = json.loads(body).get("errors")
        messages = [str(e["message"]) for e in errors if isinstance(e, dict) and e.get("message")]
    except (ValueError, AttributeError, TypeError):
        return ""
    return f" ({'; '.join(messages)})" if messages else ""


def _fingerprint(credentials: Credentials | None) -> str:
    if credentials is None:
        return ""
    secret = f"{credentials.username}\0{credentials.password}".encode()
    return hashlib.sha256(secret).hexdigest()
