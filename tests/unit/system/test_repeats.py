"""Repeated log lines collapse into one line and a count."""

import logging

import pytest

from fluxos.clock import ManualClock
from fluxos.system.repeats import RepeatFilter


@pytest.fixture
def captured() -> tuple[list[str], ManualClock, RepeatFilter]:
    clock = ManualClock()
    repeats = RepeatFilter(window=60, clock=clock.monotonic)
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.levelname} {record.getMessage()}")

    handlers = [Collect(), Collect()]  # one decision for every handler of a record
    logger = logging.getLogger("test.repeats")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    for handler in handlers:
        handler.addFilter(repeats)
        logger.addHandler(handler)
    yield lines, clock, repeats
    for handler in handlers:
        logger.removeHandler(handler)


def test_a_flood_is_one_line_and_a_count(captured) -> None:  # type: ignore[no-untyped-def]
    lines, clock, _ = captured
    log = logging.getLogger("test.repeats")
    for _ in range(1000):
        log.warning("refused %s", 0)
    log.warning("refused %s", 1)  # another message is not a repeat
    assert lines == ["WARNING refused 0"] * 2 + ["WARNING refused 1"] * 2
    clock.advance(61)
    log.warning("refused %s", "late")
    assert lines[4:] == [
        "WARNING repeated 999 more times in the last 61 s: refused 0",
        "WARNING repeated 999 more times in the last 61 s: refused 0",
        "WARNING refused late",
        "WARNING refused late",
    ]


def test_other_lines_pass_and_pending_counts_flush(captured) -> None:  # type: ignore[no-untyped-def]
    lines, _clock, repeats = captured
    log = logging.getLogger("test.repeats")
    for _ in range(3):
        log.info("progress %d", 1)  # plain INFO lines are never collapsed
    for port in range(3):
        log.info("client %d left", port, extra={"dedupe": "client left"})
    log.error("other failure")
    assert lines[::2] == ["INFO progress 1"] * 3 + ["INFO client 0 left", "ERROR other failure"]
    repeats.flush()
    assert lines[-1] == "INFO repeated 2 more times in the last 0 s: client 0 left"
