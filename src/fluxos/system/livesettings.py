"""The settings a running node reads now: the start-up `Settings`, replaced as a whole when
an adjustment is applied without a restart (upstream hot-reloads its userconfig)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fluxos.config import Settings

log = logging.getLogger(__name__)

Listener = Callable[[Settings, Settings], None]


class LiveSettings:
    """Holds the current `Settings`; `apply(**changes)` validates and swaps them."""

    def __init__(self, settings: Settings) -> None:
        self._current = settings
        self._listeners: list[Listener] = []

    @property
    def current(self) -> Settings:
        return self._current

    def on_change(self, listener: Listener) -> None:
        """Call `listener(old, new)` after every change."""
        self._listeners.append(listener)

    def validated(self, **changes: Any) -> Settings:
        """The settings with `changes` applied and checked by the settings model."""
        values = {**self._current.model_dump(), **changes}
        return Settings.model_validate(values)

    def apply(self, **changes: Any) -> Settings:
        old, new = self._current, self.validated(**changes)
        self._current = new
        for listener in self._listeners:
            try:
                listener(old, new)
            except Exception:
                log.exception("a settings listener failed on %s", ", ".join(changes))
        return new
