"""`/apps/applogpolling` (apps.md §11.9): a component's log lines with Docker's
timestamps, so a viewer asks again from the last line it holds.

No line is lost between polls (upstream #1794). Docker stamps stdout and stderr lines in
two copiers, so its log file is not always in time order: a stderr line may follow a
stdout line stamped a few microseconds later. A time filter alone would then drop it, so
`since` is read as a cursor — the stamp of the last line the viewer got, in the log's own
order: the engine is asked from a little before it (Docker's `since` is whole seconds),
that line is found and everything after it is answered. Only when it is not there (an
arbitrary time, a rotated log) do the lines stamped after `since` count. With `since` the
*first* `lines` lines after it are answered (`truncated` says more follow), so the next
poll continues where this one stopped; without it, the last `lines`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fluxos.errors import BadParameter

DEFAULT_LINES = 100
MARGIN_SECONDS = 2  # how far before the cursor the engine is asked (out-of-order lines)
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$")


def line_count(value: str | None) -> int | str:
    """Upstream's `lines`: `all` (also when absent), else a positive integer, else 100."""
    if value is None or value == "all":
        return "all"
    try:
        number = int(value)
    except ValueError:
        return DEFAULT_LINES
    return number if number > 0 else DEFAULT_LINES


def instant_ns(text: str) -> int:
    """An RFC 3339 time (Docker's, up to nanoseconds; no zone is UTC) or epoch
    milliseconds, as nanoseconds since the epoch."""
    text = text.strip()
    if text.isdigit():
        return int(text) * 1_000_000
    match = _STAMP.match(text)
    if match is None:
        raise BadParameter(
            f"since must be a time like 2026-01-02T03:04:05.123456789Z or epoch milliseconds,"
            f" got {text!r}"
        )
    whole, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(whole + (zone if zone and zone != "Z" else "+00:00"))
    seconds = int(stamp.astimezone(UTC).timestamp())
    return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


@dataclass(frozen=True)
class LogPage:
    logs: list[str]
    lines: int | str
    since: str
    truncated: bool

    def body(self) -> dict[str, Any]:
        """Upstream's answer, not enveloped."""
        return {
            "logs": self.logs,
            "lineCount": self.lines,
            "logCount": len(self.logs),
            "sinceTimestamp": self.since,
            "truncated": self.truncated,
            "status": "success",
        }


def since_seconds(since: str) -> int:
    """The whole second to ask Docker from (it includes that second): a margin before
    the cursor, where lines written after it but stamped before it may be."""
    if not since:
        return 0
    return max(1, instant_ns(since) // 1_000_000_000 - MARGIN_SECONDS)


def page(raw: bytes, lines: int | str, since: str) -> LogPage:
    """The lines of `raw` (Docker's output with timestamps) that belong to this poll."""
    found = [line for line in raw.decode(errors="replace").split("\n") if line.strip()]
    if since:
        after = instant_ns(since)
        stamps = [_line_ns(line) for line in found]
        cursor = [index for index, stamp in enumerate(stamps) if stamp == after]
        if cursor:
            found = found[cursor[-1] + 1 :]
        else:
            found = [line for line, stamp in zip(found, stamps, strict=True) if stamp > after]
        if lines != "all":
            assert isinstance(lines, int)
            return LogPage(found[:lines], lines, since, len(found) > lines)
        return LogPage(found, lines, since, False)
    truncated = lines != "all" and len(found) >= int(lines)
    return LogPage(found, lines, since, truncated)


def _line_ns(line: str) -> int:
    stamp = line.split(" ", 1)[0]
    try:
        return instant_ns(stamp)
    except BadParameter:  # a line without Docker's stamp (not expected): keep it
        return 1 << 62
