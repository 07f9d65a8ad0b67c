"""The REST client of the local Syncthing: `X-API-Key` from config.xml, loopback base URL,
5 s default timeout. Every failure is a FluxError the API edge can show; a Syncthing that
is down answers at once with a clear message (never a hang)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from fluxos.errors import FluxError, UnnamedError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
MAX_RAW_BYTES = 64 * 1024 * 1024
ApiKeySource = Callable[[], str | None]


class SyncthingUnavailable(FluxError):
    """Syncthing did not answer (not running, not listening, too slow)."""

    default_name = "SyncthingUnavailable"


class SyncthingError(FluxError):
    """Syncthing answered with an HTTP error; its own text is kept in the message."""

    default_name = "SyncthingError"


class ApiKeyUnreadable(UnnamedError):
    def __init__(self) -> None:
        super().__init__("Unable to read syncthing apikey")


@dataclass(frozen=True)
class RawAnswer:
    """A non-JSON answer passed through as bytes (profiles, support bundles, files)."""

    content: bytes
    media_type: str


class SyncthingClient:
    """One HTTP client to Syncthing's REST API; the key is re-read when Syncthing refuses it."""

    def __init__(self, base_url: str, api_key: ApiKeySource) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._key: str | None = None
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=DEFAULT_TIMEOUT)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        text_body: str | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Call Syncthing; the answer as parsed JSON, else text, else "" for an empty body."""
        response = await self._send(method, path, params, body, text_body, deadline)
        content = response.content
        if not content:
            return ""
        if "json" in response.headers.get("content-type", ""):
            try:
                return json.loads(content)
            except ValueError:
                pass
        text = response.text
        try:
            return json.loads(text)
        except ValueError:
            return text

    async def raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> RawAnswer:
        response = await self._send(method, path, params, None, None, deadline)
        if len(response.content) > MAX_RAW_BYTES:
            raise SyncthingError(f"Syncthing's answer is larger than {MAX_RAW_BYTES} bytes")
        return RawAnswer(
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
        )

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        text_body: str | None,
        deadline: float | None,
    ) -> httpx.Response:
        for attempt in (1, 2):
            key = self._key if self._key is not None else self._api_key()
            if not key:
                raise ApiKeyUnreadable()
            self._key = key
            headers = {"X-API-Key": key}
            content: bytes | None = None
            if text_body is not None:
                content = text_body.encode()
                headers["Content-Type"] = "text/plain"
            elif body is not None:
                content = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            try:
                response = await self._http.request(
                    method.upper(),
                    path,
                    params=dict(params) if params else None,
                    content=content,
                    headers=headers,
                    timeout=deadline if deadline is not None else DEFAULT_TIMEOUT,
                )
            except httpx.TimeoutException:
                raise SyncthingUnavailable(
                    f"Syncthing at {self.base_url} did not answer {method.upper()} {path} "
                    f"within {deadline or DEFAULT_TIMEOUT:g} s",
                    code="ETIMEDOUT",
                ) from None
            except httpx.HTTPError as error:
                raise SyncthingUnavailable(
                    f"Syncthing is not reachable at {self.base_url}: {_reason(error)}",
                    code="ECONNREFUSED" if isinstance(error, httpx.ConnectError) else None,
                ) from None
            if response.status_code in (401, 403) and attempt == 1 and _key_refused(response):
                self._key = None  # the key in config.xml may have changed: read it again
                continue
            if response.status_code >= 400:
                detail = response.text.strip()[:500]
                raise SyncthingError(
                    f"Syncthing answered {method.upper()} {path} with HTTP "
                    f"{response.status_code}" + (f": {detail}" if detail else ""),
                    code="ERR_BAD_REQUEST" if response.status_code < 500 else "ERR_BAD_RESPONSE",
                )
            return response
        raise AssertionError("unreachable")


def _key_refused(response: httpx.Response) -> bool:
    return "CSRF" in response.text or "API key" in response.text or response.status_code == 401


def _reason(error: httpx.HTTPError) -> str:
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "connection refused (is it running?)"
    return text
