"""Remote backup URLs (files-and-sync.md §3): `getremotefilesize`'s HEAD and a remote
restore's download, never to a private, loopback or otherwise non-public address.

Upstream checked the name's addresses and then let the HTTP client resolve the name
again (a DNS-rebinding window). Here the name is resolved once, every address is checked,
and the request goes to the checked address itself (`Host` and TLS SNI keep the name, so
certificates are verified against it). Redirects are followed by hand, at most 5, each
target checked the same way. Downloads stop past a size limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from fluxos.errors import BadParameter, FluxError

MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 15.0
BLOCKED_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    }
)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Resolver(Protocol):
    """A name's addresses (the system's resolver; tests give other answers)."""

    async def addresses(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    async def addresses(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise BadParameter(f"URL host {host} does not resolve: {error.strerror}") from None
        return sorted({str(info[4][0]) for info in infos})


def blocked(address: Address, allowed: Sequence[Network] = ()) -> bool:
    """Not a public unicast address (loopback, private, link-local, shared, reserved,
    documentation, multicast, unspecified; IPv4-mapped IPv6 judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return False
    return not address.is_global or address.is_multicast or address.is_unspecified


@dataclass(frozen=True)
class Pinned:
    """A checked URL: the request goes to `address`, `host` travels in Host and SNI."""

    url: str
    address: str
    host: str
    request_url: str
    host_header: str


class RemoteFiles:
    def __init__(
        self,
        resolver: Resolver | None = None,
        *,
        allowed: Sequence[str] = (),
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.resolver = resolver or SystemResolver()
        self.allowed: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in allowed)
        self.http = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=True
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def pin(self, url: str) -> Pinned:
        """Check `url` (http/https, a public host) and pin it to one checked address."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise BadParameter("URL must use http or https")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise BadParameter("URL must name a host")
        if host in BLOCKED_NAMES or host.endswith(".localhost"):
            raise BadParameter(f"URL host {host} is not allowed")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        texts = [str(literal)] if literal is not None else await self.resolver.addresses(host, port)
        if not texts:
            raise BadParameter(f"URL host {host} does not resolve")
        addresses = [ipaddress.ip_address(text) for text in texts]
        bad = [str(a) for a in addresses if blocked(a, self.allowed)]
        if bad:
            raise BadParameter(f"URL host {host} resolves to a private or local address")
        address = addresses[0]
        shown = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{shown}:{port}"
        request_url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        default_port = port == (443 if parts.scheme == "https" else 80)
        host_header = host if default_port else f"{host}:{port}"
        return Pinned(url, str(address), host, request_url, host_header)

    async def _send(self, method: str, url: str) -> tuple[httpx.Response, str]:
        """Send `method` to `url`, following checked redirects; the response is streamed."""
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            pinned = await self.pin(current)
            request = self.http.build_request(
                method,
                pinned.request_url,
                headers={"host": pinned.host_header},
                extensions={"sni_hostname": pinned.host},
            )
            try:
                response = await self.http.send(request, stream=True)
            except httpx.HTTPError as error:
                raise FluxError(f"Request to {current} failed: {error}") from None
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                await response.aclose()
                if not location:
                    raise FluxError("Redirect response missing Location header")
                current = urljoin(current, location)
                continue
            if response.status_code >= 400:
                await response.aclose()
                raise FluxError(f"Request to {current} failed with status {response.status_code}")
            return response, current
        raise FluxError("Too many redirects")

    async def size(self, url: str) -> int:
        """The `content-length` a HEAD of `url` announces."""
        response, _final = await self._send("HEAD", url)
        await response.aclose()
        length = response.headers.get("content-length", "")
        if not length.isdigit():
            raise FluxError("Error fetching file size")
        return int(length)

    async def download(self, url: str, limit: int) -> AsyncIterator[bytes]:
        """The body of `url` in chunks; refused past `limit` bytes (announced or sent)."""
        response, _final = await self._send("GET", url)
        try:
            announced = response.headers.get("content-length", "")
            if announced.isdigit() and int(announced) > limit:
                raise BadParameter(f"remote file is larger than the limit of {limit} bytes")
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    raise BadParameter(f"remote file is larger than the limit of {limit} bytes")
                yield chunk
        finally:
            await response.aclose()
