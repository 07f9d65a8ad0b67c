"""Peer socket addresses: the `ip:port` strings that key every peer table (p2p.md §1, §16)."""

from __future__ import annotations

import ipaddress
import re

from fluxos.errors import BadParameter

DEFAULT_PORT = 16127
ALLOWED_PORTS = frozenset({16127, 16137, 16147, 16157, 16167, 16177, 16187, 16197})

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_FIRST_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]?)"
_STRICT = re.compile(rf"^{_FIRST_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?::([0-9]{{1,5}}))?$")
_NON_ROUTABLE = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
    )
)


def normalize(address: str) -> str:
    """`ip` → `ip:16127`; an address that already has a `:` is kept as it is."""
    return address if ":" in address else f"{address}:{DEFAULT_PORT}"


def split(address: str) -> tuple[str, int]:
    """(ip, port) of a normalised address; a port that is not a number counts as 16127."""
    ip, _, port = normalize(address).rpartition(":")
    return ip, int(port) if port.isdigit() else DEFAULT_PORT


def join(ip: str, port: int) -> str:
    return f"{ip}:{port}"


def parse_strict(text: str | None, parameter: str = "ip") -> tuple[str, int]:
    """Parse `a.b.c.d[:port]` as the peer-control routes do; BadParameter otherwise."""
    match = _STRICT.match(text or "")
    if not match:
        raise BadParameter(f"Unparsable `{parameter}` parameter")
    port = int(match.group(5)) if match.group(5) else DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise BadParameter(f"Unparsable `{parameter}` parameter")
    return text.split(":")[0] if text else "", port


def remote_ipv4(host: str) -> str:
    """The IPv4 address of a socket peer (`::ffff:a.b.c.d` → `a.b.c.d`)."""
    return host.removeprefix("::ffff:")


def is_routable(ip: str) -> bool:
    """False for private, loopback, link-local and CGNAT IPv4 addresses (and non-IPv4)."""
    try:
        parsed = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    return not any(parsed in net for net in _NON_ROUTABLE)


def group16(ip: str) -> str:
    """The `/16` group upstream uses for peer diversity: the first two octets."""
    return ".".join(ip.split(".")[:2])
