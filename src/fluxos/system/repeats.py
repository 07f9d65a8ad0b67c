"""Repeated log lines collapse into one line and a count.

A flood (thousands of refused connections, a client that keeps disconnecting, one failure
repeating every second) must not rotate the real errors out of the log files. Warnings and
errors, and INFO lines logged with `extra={"dedupe": ...}`, are keyed by logger, level and
message (or by the `dedupe` value when it is a string: `extra={"dedupe": "client left"}`
collapses lines whose details differ): the first of a key is written, the next ones within
`window` seconds are counted, and the count is written as one line when the window ends
(on the next log line after it, or at `flush()`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
_DECISION = "_fluxos_repeat_decision"
_SUMMARY = "_fluxos_repeat_summary"


@dataclass
class _Seen:
    first: float
    suppressed: int
    logger: str
    level: int
    text: str


class RepeatFilter(logging.Filter):
    """One instance shared by every handler of the root logger."""

    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._lock = threading.Lock()
        self._last_sweep = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY, False):
            return True
        decision = getattr(record, _DECISION, None)
        if decision is None:  # the first handler decides for all of them
            decision = self._decide(record)
            setattr(record, _DECISION, decision)
        return bool(decision)

    def _decide(self, record: logging.LogRecord) -> bool:
        dedupe = getattr(record, "dedupe", None)
        if record.levelno < logging.WARNING and not dedupe:
            self._sweep()
            return True
        text = record.getMessage()
        if isinstance(dedupe, str):
            what = dedupe
        elif record.exc_info and record.exc_info[0] is not None:
            what = f"{text} [{record.exc_info[0].__name__}]"
        else:
            what = text
        key = (record.name, record.levelno, what)
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.first < self.window:
                seen.suppressed += 1
                return False
            self._seen[key] = _Seen(now, 0, record.name, record.levelno, text)
        if seen is not None and seen.suppressed:
            self._summarise(seen, now)
        self._sweep()
        return True

    def _sweep(self) -> None:
        now = self._clock()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        with self._lock:
            expired = [key for key, seen in self._seen.items() if now - seen.first >= self.window]
            done = [self._seen.pop(key) for key in expired]
        for seen in done:
            if seen.suppressed:
                self._summarise(seen, now)

    def flush(self) -> None:
        """Write the counts still pending (at shutdown)."""
        now = self._clock()
        with self._lock:
            pending = list(self._seen.values())
            self._seen.clear()
        for seen in pending:
            if seen.suppressed:
                self._summarise(seen, now)

    @staticmethod
    def _summarise(seen: _Seen, now: float) -> None:
        logging.getLogger(seen.logger).log(
            seen.level,
            "repeated %d more times in the last %.0f s: %s",
            seen.suppressed,
            now - seen.first,
            seen.text,
            extra={_SUMMARY: True},
        )
