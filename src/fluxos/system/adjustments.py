"""The `adjust*` routes' rules (spec system.md §6): validate with upstream's messages, write
`fluxos.toml` atomically, and apply the change to the running node where upstream's hot
reload does (everything but the API port, which needs a restart)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from typing import Any

from fluxos.config import ALLOWED_API_PORTS
from fluxos.errors import BadParameter, FluxError
from fluxos.system.livesettings import LiveSettings
from fluxos.system.settingsfile import SettingsFile

log = logging.getLogger(__name__)

MAX_BLOCKED_PORTS = 100
MAX_BLOCKED_REPOSITORIES = 10
MAX_KADENA_CHAIN = 20


def _js_number(text: str) -> float:
    """JavaScript's `Number(text)` for the strings a URL carries (NaN when not a number)."""
    stripped = text.strip()
    if stripped == "":
        return 0.0
    try:
        if stripped.lower().startswith(("0x", "0o", "0b")):
            return float(int(stripped, 0))
        number = float(stripped)
    except ValueError:
        return math.nan
    return number if stripped.lower() not in ("nan", "inf", "-inf", "infinity") else math.nan


class SettingsAdjuster:
    """Applies the operator's adjustments to the live settings and the settings file."""

    def __init__(self, live: LiveSettings, file: SettingsFile) -> None:
        self.live = live
        self.file = file
        self._lock = asyncio.Lock()

    async def kadena(self, account: str | None, chain_id: str | None) -> str:
        if not account:
            raise FluxError("No Kadena Account provided")
        if not chain_id:
            raise FluxError("No Kadena Chain ID provided")
        number = _js_number(chain_id)
        if math.isnan(number) or not 0 <= number <= MAX_KADENA_CHAIN:
            raise FluxError(f"Invalid Chain ID {chain_id} provided.")
        if number != int(number) or not chain_id.strip().isdigit():
            # upstream stores the text as given; a fractional id is no Kadena chain
            raise FluxError(f"Invalid Chain ID {chain_id} provided.")
        if any(character in account for character in "?\n\r"):
            raise BadParameter("account must not contain '?' or line breaks")
        await self._store({"kadena": f"kadena:{account}?chainid={chain_id.strip()}"})
        return "Kadena account adjusted"

    async def router_ip(self, router_ip: str | None) -> str:
        value = (router_ip or "").strip()
        if value:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise BadParameter(
                    f"routerip must be empty or an IPv4 address, got {value!r}"
                ) from None
        await self._store({"router_ip": value})
        return "Router IP adjusted"

    async def api_port(self, api_port: str | None) -> str:
        number = _js_number(api_port or "")
        if math.isnan(number) or number not in ALLOWED_API_PORTS:
            raise FluxError("API Port not valid")
        # the listener keeps its port until the node restarts, as upstream
        await self._store({"apiport": int(number)}, live=False)
        return "API Port adjusted. A restart of FluxOS is necessary"

    async def blocked_ports(self, body: Any) -> str:
        if body in (None, {}, ""):
            raise FluxError("Missing Blocked Ports Information.")
        ports = body.get("blockedPorts") if isinstance(body, dict) else None
        if not isinstance(ports, list):
            raise FluxError("Blocked Ports is not a valid array")
        bad = [p for p in ports if isinstance(p, bool) or not isinstance(p, int)]
        bad += [p for p in ports if isinstance(p, int) and not 1 <= p <= 65535]
        if bad:
            raise BadParameter(
                f"blockedPorts must hold port numbers between 1 and 65535, got {bad[:5]}"
            )
        if len(ports) > MAX_BLOCKED_PORTS:
            raise BadParameter(
                f"blockedPorts may hold at most {MAX_BLOCKED_PORTS} ports, got {len(ports)}"
            )
        await self._store({"blocked_ports": tuple(dict.fromkeys(ports))})
        return "User Blocked Ports adjusted"

    async def blocked_repositories(self, body: Any) -> str:
        if body in (None, {}, ""):
            raise FluxError("Missing Blocked Repositories Information.")
        repositories = body.get("blockedRepositories") if isinstance(body, dict) else None
        if not isinstance(repositories, list):
            raise FluxError("Blocked Repositories is not a valid array")
        if any(not isinstance(r, str) for r in repositories):
            raise FluxError("Blocked Repositories are invalid")
        if len(repositories) > MAX_BLOCKED_REPOSITORIES:
            raise BadParameter(
                f"blockedRepositories may hold at most {MAX_BLOCKED_REPOSITORIES} "
                f"repositories, got {len(repositories)}"
            )
        cleaned = [r.strip() for r in repositories]
        if any(not r or any(c.isspace() for c in r) for r in cleaned):
            raise BadParameter("blockedRepositories entries must be non-empty, without spaces")
        await self._store({"blocked_repositories": tuple(dict.fromkeys(cleaned))})
        return "User Blocked Repositories adjusted"

    async def _store(self, changes: dict[str, Any], *, live: bool = True) -> None:
        async with self._lock:
            try:
                self.live.validated(**changes)  # never write what the next start refuses
            except ValueError as error:
                raise BadParameter(str(error)) from None
            await asyncio.to_thread(self.file.update, changes)
            if live:
                self.live.apply(**changes)
            log.info("settings adjusted: %s", ", ".join(f"{k}={v!r}" for k, v in changes.items()))
