"""How far the host clock is from NTP time (`/flux/clockdrift`, system.md §2), read from
chrony (`chronyc tracking`) or systemd-timesyncd (`timedatectl timesync-status`); the
source is detected once, as upstream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from fluxos.clock import Clock

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 5.0
_CHRONY = re.compile(r"System time\s*:\s*([\d.]+)\s+seconds\s+(slow|fast)")
_TIMESYNC = re.compile(r"Offset\s*:\s*([+-]?[\d.]+)(us|ms|s)\b")
_COMMANDS = {
    "chrony": ("chronyc", "tracking"),
    "timesyncd": ("timedatectl", "timesync-status"),
}


def chrony_offset(text: str) -> float | None:
    """Seconds the clock is fast (+) or slow (−) from `chronyc tracking` output."""
    match = _CHRONY.search(text)
    if not match:
        return None
    return float(match.group(1)) * (-1 if match.group(2) == "slow" else 1)


def timesync_offset(text: str) -> float | None:
    """Seconds from `timedatectl timesync-status` output (`Offset: +1.234ms`)."""
    match = _TIMESYNC.search(text)
    if not match:
        return None
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[match.group(2)]
    return float(match.group(1)) * scale


async def _run(argv: tuple[str, ...]) -> str | None:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        output, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None
    return output.decode(errors="replace") if process.returncode == 0 else None


class ClockDrift:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.source: str | None = None

    async def _detect(self) -> str:
        if self.source is None:
            self.source = "none"
            for name, argv in _COMMANDS.items():
                if await _run(argv) is not None:
                    self.source = name
                    break
            log.info("NTP source detected: %s", self.source)
        return self.source

    async def drift(self) -> dict[str, Any]:
        """`{source, offset, time}`: offset in seconds or null, time in unix seconds."""
        source = await self._detect()
        offset = None
        if source in _COMMANDS:
            text = await _run(_COMMANDS[source])
            if text is not None:
                offset = chrony_offset(text) if source == "chrony" else timesync_offset(text)
        return {"source": source, "offset": offset, "time": int(self.clock.time())}
