"""The "Syncthing" section: every `/syncthing/*` route (files-and-sync.md §1.3, §1.4).

The plain routes are the rows of `fluxos.sync.proxytable`, all served by `SyncthingProxy`;
the device id, metrics and peer diagnostics have handlers of their own. Permission and
cache lifetime of each route come from `routes.tsv`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from fluxos.api.routing import Call, FluxRouter
from fluxos.sync.client import RawAnswer
from fluxos.sync.proxytable import BODY_TEXT, PROXY_ROUTES, ProxyRoute
from fluxos.sync.service import SyncService
from fluxos.wire.permissions import Permission

router = FluxRouter("Syncthing", lambda node: node.sync)
Sync = Call[SyncService]


class SyncthingProxy:
    """The handler of one proxy row (one instance per row)."""

    def __init__(self, row: ProxyRoute) -> None:
        self.row = row
        self.__doc__ = f"Syncthing {row.call.upper()} {row.target}"

    async def __call__(self, call: Sync) -> Any:
        row = self.row
        values = _values(call)
        answer = await call.service.proxy(row.build(values))
        if isinstance(answer, RawAnswer):
            return Response(answer.content, media_type=answer.media_type)
        return answer


def _values(call: Sync) -> Any:
    def lookup(name: str) -> Any:
        if name == BODY_TEXT:
            return _body_text(call.body)
        return call.param(name)

    return lookup


def _body_text(body: Any) -> str | None:
    """A POST body as text: a plain-text body was parsed as a one-key query string."""
    if not isinstance(body, dict) or not body:
        return None
    if len(body) == 1:
        key, value = next(iter(body.items()))
        if value == "":
            return str(key)
    return json.dumps(body)


for _row in PROXY_ROUTES:
    _declare = router.get if _row.method == "GET" else router.post
    _declare(_row.path, summary=f"Syncthing {_row.call.upper()} {_row.target}", app_param=None)(
        SyncthingProxy(_row)
    )


@router.get("/syncthing/deviceid", app_param=None)
async def device_id(call: Sync) -> str:
    """This node's Syncthing device id (peers call this to add us to their app folders)."""
    return await call.service.require_device_id()


@router.get("/syncthing/metrics", app_param=None)
async def syncthing_metrics(call: Sync) -> dict[str, Any]:
    """A live collection of Syncthing's health, connections and folder states."""
    return await call.service.metrics()


@router.get("/syncthing/metrics/health", app_param=None)
async def syncthing_health_summary(call: Sync) -> dict[str, Any]:
    """The headline figures of a live collection."""
    return await call.service.metrics_summary()


@router.get("/syncthing/metrics/history", app_param=None)
async def syncthing_metrics_history(call: Sync) -> dict[str, Any]:
    """The last snapshots (one a minute, at most 100); `limit` keeps the newest N."""
    limit = call.integer("limit", minimum=0, maximum=100000)
    return call.service.metrics_history(limit)


@router.get("/apps/promotedfolders", permission=Permission.PUBLIC, params=())
async def promoted_folders(call: Sync) -> dict[str, Any]:
    """`{ready, folders}`: the app folders this node holds writable (send-receive), for
    peers deciding whether they may promote theirs (upstream 8.18)."""
    return call.service.promoted_folders()


@router.get("/syncthing/peer/diagnostics", app_param=None)
async def peer_diagnostics(call: Sync) -> dict[str, Any]:
    """Per folder: local copy against each peer's, connected peers, recommendations."""
    return await call.service.peer_diagnostics()
