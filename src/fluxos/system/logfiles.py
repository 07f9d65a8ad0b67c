"""Log lines to stdout and to four files in the data dir, split by level like upstream.

`debug.log` receives every line; `info.log`, `warn.log` and `error.log` receive their own
level (errors also go to `error.log` only, warnings to `warn.log` only). Each file is
rotated at 25 MB keeping one old file; the `/flux/*log` routes serve the current file.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import logging.handlers
import sys
import time
from collections import deque
from pathlib import Path

from fluxos.system.repeats import RepeatFilter

LOG_FILES = {"debug": "debug.log", "info": "info.log", "warn": "warn.log", "error": "error.log"}
MAX_BYTES = 25 * 1024 * 1024
_LEVEL_RANGES = {
    "debug": (logging.DEBUG, logging.CRITICAL),
    "info": (logging.INFO, logging.INFO),
    "warn": (logging.WARNING, logging.WARNING),
    "error": (logging.ERROR, logging.CRITICAL),
}
_OWN_HANDLER = "_fluxos_handler"


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


class _LevelRange(logging.Filter):
    def __init__(self, low: int, high: int) -> None:
        super().__init__()
        self.low, self.high = low, high

    def filter(self, record: logging.LogRecord) -> bool:
        return self.low <= record.levelno <= self.high


class _QuietShutdown(logging.Filter):
    """uvicorn's words for requests still open when the node stops: the handlers it cancels
    are no application errors (no traceback), and cancelling them is a normal end (INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError):
            return False
        if record.levelno == logging.ERROR and str(record.msg).startswith("Cancel %s running"):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _quiet_shutdown(logger: logging.Logger) -> None:
    if not any(isinstance(f, _QuietShutdown) for f in logger.filters):
        logger.addFilter(_QuietShutdown())


def configure_logging(log_dir: Path, level: str = "info", console: bool = True) -> None:
    """Install the file and console handlers on the root logger (replacing earlier ones)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWN_HANDLER, False):
            root.removeHandler(handler)
            handler.close()
    formatter = _UtcFormatter("%(asctime)s          %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    for name, filename in LOG_FILES.items():
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / filename, maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8"
        )
        file_handler.addFilter(_LevelRange(*_LEVEL_RANGES[name]))
        handlers.append(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stdout)
        stream.setLevel(getattr(logging, level.upper()))
        handlers.append(stream)
    repeats = RepeatFilter()  # a flood of one line must not rotate real errors out
    atexit.register(repeats.flush)
    for handler in handlers:
        handler.addFilter(repeats)
        handler.setFormatter(formatter)
        setattr(handler, _OWN_HANDLER, True)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # third-party chatter stays out of debug.log unless asked for
    for noisy in ("httpx", "httpcore", "websockets", "aiosqlite", "asyncio", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _quiet_shutdown(logging.getLogger("uvicorn.error"))


def tail(path: Path, lines: int = 100) -> str:
    """The last `lines` lines of a text file, with their newlines."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines))
