"""Every plain `/syncthing/*` route as data (files-and-sync.md §1.4): the FluxOS path, the
Syncthing call it makes and how request values become that call. One generic handler
(`fluxos.api.routers.syncthing`) serves every row; permissions and cache lifetimes come
from `routes.tsv`.

Values are read like every Flux route (ordered path segment, then query string, then —
for POST — the body) and always URL-encoded into Syncthing's query string; upstream
concatenated most of them raw. The custom routes of §1.3 (device id, metrics, peer
diagnostics) are handlers of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fluxos.errors import BadParameter, UnnamedError

Lookup = Callable[[str], Any]
SYNCTHING_ID = re.compile(r"^[a-zA-Z0-9-_]+$")
METHODS = ("get", "post", "put", "patch", "delete")
BODY_TEXT = "@body-text"
"""The name under which a handler's lookup gives a POST body as text (a plain-text body
arrives parsed as a query string: `Test error` → `{"Test error": ""}`)."""


@dataclass(frozen=True)
class Q:
    """A request value sent as a Syncthing query parameter (`key`, default its own name)."""

    name: str
    required: bool = False
    key: str | None = None
    aliases: tuple[str, ...] = ()

    def lookup(self, values: Lookup) -> Any:
        for name in (self.name, *self.aliases):
            value = values(name)
            if value is not None:
                return value
        return None


@dataclass(frozen=True)
class SyncthingCall:
    """One request to Syncthing, built from a row and the caller's values."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text_body: str | None = None
    timeout: float | None = None
    raw: bool = False


@dataclass(frozen=True)
class ProxyRoute:
    """One `/syncthing/*` route: FluxOS method and base path → Syncthing `call` on `target`.

    * `query`: values sent as query parameters (required ones fail with upstream's
      "<name> parameter is mandatory").
    * `post_when`: a GET route that changes Syncthing state (POST) when one of these
      values is given (`system/debug`, `system/error`); `query_needs_all` sends the query
      only when every value is there (`system/discovery`).
    * `item`: a value appended to the path as `/<id>` after the id check (`config/folders`).
    * `body_method`: a POST route whose Syncthing method is the body's `method` (this
      default when absent); `config` sends the body's `config` as the request body.
    * `text_value`: a value sent as the plain-text body (`system/error`'s message).
    * `hold`: a value naming seconds Syncthing holds the request (events long-poll).
    * `raw`: the answer is bytes passed through, not JSON in the envelope.
    """

    method: str
    path: str
    target: str
    call: str = "get"
    query: tuple[Q, ...] = ()
    post_when: tuple[str, ...] = ()
    query_needs_all: bool = False
    item: str | None = None
    body_method: str | None = None
    config: bool = False
    text_value: str | None = None
    hold: str | None = None
    raw: bool = False
    timeout: float | None = None

    def build(self, values: Lookup) -> SyncthingCall:
        """The Syncthing request for these values; BadParameter names a missing/bad one."""
        method = self.call
        params: dict[str, str] = {}
        for arg in self.query:
            value = arg.lookup(values)
            if value is None:
                if arg.required:
                    raise BadParameter(f"{arg.key or arg.name} parameter is mandatory")
                continue
            params[arg.key or arg.name] = _text(value)
        if self.post_when and any(values(name) is not None for name in self.post_when):
            method = "post"
        if self.query_needs_all and len(params) < len(self.query):
            params = {}
        path = self.target
        if self.item is not None:
            item = values(self.item)
            if item is not None:
                text = _text(item)
                if not SYNCTHING_ID.match(text):
                    raise UnnamedError("Invalid ID supplied")
                path += f"/{text}"
        if self.body_method is not None:
            chosen = values("method")
            method = _text(chosen).lower() if chosen is not None else self.body_method
            if method not in METHODS:
                raise BadParameter(f"method must be one of {', '.join(METHODS)}, got {chosen!r}")
        body = values("config") if self.config else None
        text_body = None
        if self.text_value is not None:
            message = values(self.text_value)
            if message is None and self.method == "POST":
                message = values(BODY_TEXT)
            if message is not None:
                text_body = _text(message)
        timeout = self.timeout
        if self.hold is not None:
            hold = _seconds(values(self.hold))
            if hold:
                timeout = hold + 10
        return SyncthingCall(method, path, params, body, text_body, timeout, self.raw)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    raise BadParameter(f"expected a string or number, got {type(value).__name__}")


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 < seconds <= 3600 else None


def _get(path: str, target: str, *query: Q, **options: Any) -> ProxyRoute:
    return ProxyRoute("GET", "/syncthing" + path, target, query=query, **options)


def _post(path: str, target: str, *query: Q, **options: Any) -> ProxyRoute:
    return ProxyRoute("POST", "/syncthing" + path, target, query=query, **options)


FOLDER = Q("folder", required=True)
PROFILE_SECONDS = 60.0

PROXY_ROUTES: tuple[ProxyRoute, ...] = (
    _get("/meta", "/meta.js"),
    _get("/health", "/rest/noauth/health"),
    # -- system
    _get("/system/browse", "/rest/system/browse", Q("current")),
    _get("/system/connections", "/rest/system/connections"),
    _get(
        "/system/debug",
        "/rest/system/debug",
        Q("enable"),
        Q("disable"),
        post_when=("enable", "disable"),
    ),
    _get(
        "/system/discovery",
        "/rest/system/discovery",
        Q("device"),
        Q("addr"),
        post_when=("device", "addr"),
        query_needs_all=True,
    ),
    _get("/system/error/clear", "/rest/system/error/clear", call="post"),
    _get("/system/error", "/rest/system/error", post_when=("message",), text_value="message"),
    _get("/system/log", "/rest/system/log", Q("since")),
    _get("/system/logtxt", "/rest/system/log.txt", Q("since")),
    _get("/system/paths", "/rest/system/paths"),
    _get("/system/pause", "/rest/system/pause", Q("device"), call="post"),
    _get("/system/ping", "/rest/system/ping"),
    _get("/system/reset", "/rest/system/reset", Q("folder"), call="post"),
    _get("/system/restart", "/rest/system/restart", call="post"),
    _get("/system/resume", "/rest/system/resume", Q("device"), call="post"),
    _get("/system/shutdown", "/rest/system/shutdown", call="post"),
    _get("/system/status", "/rest/system/status"),
    _get("/system/upgrade", "/rest/system/upgrade"),
    _get("/system/version", "/rest/system/version"),
    # -- config
    _get("/config", "/rest/config"),
    _get("/config/restart-required", "/rest/config/restart-required"),
    _get("/config/folders", "/rest/config/folders", item="id"),
    _get("/config/devices", "/rest/config/devices", item="id"),
    _get("/config/defaults/folder", "/rest/config/defaults/folder"),
    _get("/config/defaults/device", "/rest/config/defaults/device"),
    _get("/config/defaults/ignores", "/rest/config/defaults/ignores"),
    _get("/config/options", "/rest/config/options"),
    _get("/config/ldap", "/rest/config/ldap"),
    _get("/config/gui", "/rest/config/gui"),
    # -- statistics, cluster, folder
    _get("/stats/device", "/rest/stats/device"),
    _get("/stats/folder", "/rest/stats/folder"),
    _get("/cluster/pending/devices", "/rest/cluster/pending/devices"),
    _get("/cluster/pending/folders", "/rest/cluster/pending/folders"),
    _get("/folder/errors", "/rest/folder/errors", FOLDER),
    _get("/folder/versions", "/rest/folder/versions", FOLDER),
    # -- database
    _get("/db/browse", "/rest/db/browse", FOLDER, Q("levels"), Q("prefix")),
    _get("/db/completion", "/rest/db/completion", Q("folder"), Q("device")),
    _get("/db/file", "/rest/db/file", Q("folder"), Q("file")),
    _get("/db/ignores", "/rest/db/ignores", Q("folder")),
    _get("/db/localchanged", "/rest/db/localchanged", FOLDER),
    _get("/db/need", "/rest/db/need", FOLDER),
    _get("/db/remoteneed", "/rest/db/remoteneed", FOLDER, Q("device", required=True)),
    _get("/db/status", "/rest/db/status", FOLDER),
    # -- events (long-poll: the client waits `timeout` + 10 s)
    _get("/events/disk", "/rest/events/disk", Q("since"), Q("limit"), Q("timeout"), hold="timeout"),
    _get(
        "/events", "/rest/events", Q("events"), Q("since"), Q("limit"), Q("timeout"), hold="timeout"
    ),
    # -- services
    _get("/svc/random/string", "/rest/svc/random/string", Q("length")),
    _get("/svc/report", "/rest/svc/report"),
    # upstream reads only `?id=` here (its path segment is named `deviceid`); both count
    _get("/svc", "/rest/svc/deviceid", Q("deviceid", key="id", required=True, aliases=("id",))),
    # -- debug (Syncthing answers 403 unless gui.debugging is on; profiles take 30 s)
    _get("/debug/peercompletion", "/rest/debug/peerCompletion"),
    _get("/debug/httpmetrics", "/rest/debug/httpmetrics"),
    _get("/debug/cpuprof", "/rest/debug/cpuprof", raw=True, timeout=PROFILE_SECONDS),
    _get("/debug/heapprof", "/rest/debug/heapprof", raw=True, timeout=PROFILE_SECONDS),
    _get("/debug/support", "/rest/debug/support", raw=True, timeout=PROFILE_SECONDS),
    _get("/debug/file", "/rest/debug/file", FOLDER, Q("file", required=True)),
    # -- POST routes: the body holds the values (`config`, `method`, ids)
    _post("/system/error", "/rest/system/error", call="post", text_value="message"),
    _post("/system/upgrade", "/rest/system/upgrade", call="post"),
    _post("/config", "/rest/config", call="put", config=True),
    _post("/config/folders", "/rest/config/folders", item="id", body_method="post", config=True),
    _post("/config/devices", "/rest/config/devices", item="id", body_method="post", config=True),
    _post(
        "/config/defaults/folder", "/rest/config/defaults/folder", body_method="put", config=True
    ),
    _post(
        "/config/defaults/device", "/rest/config/defaults/device", body_method="put", config=True
    ),
    _post("/config/defaults/ignores", "/rest/config/defaults/ignores", call="put", config=True),
    _post("/config/options", "/rest/config/options", body_method="put", config=True),
    _post("/config/gui", "/rest/config/gui", body_method="put", config=True),
    _post("/config/ldap", "/rest/config/ldap", body_method="put", config=True),
    _post(
        "/cluster/pending/devices",
        "/rest/cluster/pending/devices",
        Q("device"),
        body_method="delete",
        config=True,
    ),
    _post(
        "/cluster/pending/folders",
        "/rest/cluster/pending/folders",
        Q("folder"),
        body_method="delete",
        config=True,
    ),
    _post(
        "/folder/versions", "/rest/folder/versions", Q("folder"), body_method="post", config=True
    ),
    _post("/db/ignores", "/rest/db/ignores", Q("folder"), body_method="post", config=True),
    _post("/db/override", "/rest/db/override", FOLDER, call="post"),
    _post("/db/prio", "/rest/db/prio", FOLDER, Q("file", required=True), call="post"),
    _post("/db/revert", "/rest/db/revert", FOLDER, call="post"),
    _post("/db/scan", "/rest/db/scan", Q("folder"), Q("sub"), Q("next"), call="post"),
)
