"""The `/syncthing/*` proxy table: every route of routes.tsv is a row or a custom handler,
and request values become the Syncthing call upstream makes (encoded, not concatenated)."""

from __future__ import annotations

from typing import Any

import pytest

from fluxos.api.routetable import load_route_table
from fluxos.errors import BadParameter, UnnamedError
from fluxos.sync.proxytable import BODY_TEXT, PROXY_ROUTES, ProxyRoute, SyncthingCall

CUSTOM = {
    ("GET", "/syncthing/deviceid"),
    ("GET", "/syncthing/metrics"),
    ("GET", "/syncthing/metrics/health"),
    ("GET", "/syncthing/metrics/history"),
    ("GET", "/syncthing/peer/diagnostics"),
}


def row(method: str, path: str) -> ProxyRoute:
    return next(r for r in PROXY_ROUTES if (r.method, r.path) == (method, path))


def build(route_method: str, path: str, **values: Any) -> SyncthingCall:
    return row(route_method, path).build(values.get)


def test_the_table_and_the_custom_handlers_cover_every_syncthing_route() -> None:
    table = {key for key in load_route_table() if key[1].startswith("/syncthing")}
    rows = {(r.method, r.path) for r in PROXY_ROUTES}
    assert len(table) == 79
    assert rows | CUSTOM == table
    assert not rows & CUSTOM
    assert len(rows) == len(PROXY_ROUTES)


def test_values_are_query_parameters_not_concatenated_text() -> None:
    call = build("GET", "/syncthing/db/browse", folder="a&b=c", prefix="x y/z")
    assert (call.method, call.path) == ("get", "/rest/db/browse")
    assert call.params == {"folder": "a&b=c", "prefix": "x y/z"}


def test_mandatory_values_name_themselves() -> None:
    with pytest.raises(BadParameter, match=r"^folder parameter is mandatory$"):
        build("GET", "/syncthing/db/status")
    with pytest.raises(BadParameter, match=r"^device parameter is mandatory$"):
        build("GET", "/syncthing/db/remoteneed", folder="f")
    with pytest.raises(BadParameter, match=r"^id parameter is mandatory$"):
        build("GET", "/syncthing/svc")


def test_get_routes_that_act_post() -> None:
    assert build("GET", "/syncthing/system/pause", device="D").method == "post"
    assert build("GET", "/syncthing/system/pause").params == {}
    assert build("GET", "/syncthing/system/debug").method == "get"
    debug = build("GET", "/syncthing/system/debug", enable="model")
    assert (debug.method, debug.params) == ("post", {"enable": "model"})
    # discovery: POST once one is given, but the query only with both
    lone = build("GET", "/syncthing/system/discovery", device="D")
    assert (lone.method, lone.params) == ("post", {})
    both = build("GET", "/syncthing/system/discovery", device="D", addr="tcp://1.2.3.4:1")
    assert both.params == {"device": "D", "addr": "tcp://1.2.3.4:1"}
    error = build("GET", "/syncthing/system/error", message="disk full")
    assert (error.method, error.text_body) == ("post", "disk full")


def test_ids_are_checked_before_they_join_the_path() -> None:
    assert build("GET", "/syncthing/config/folders", id="app_1-x").path == (
        "/rest/config/folders/app_1-x"
    )
    assert build("GET", "/syncthing/config/folders").path == "/rest/config/folders"
    with pytest.raises(UnnamedError, match="Invalid ID supplied"):
        build("GET", "/syncthing/config/devices", id="../../rest/system/shutdown")


def test_post_routes_take_method_and_config_from_the_body() -> None:
    folder = {"id": "f", "path": "/tmp/f"}
    call = build("POST", "/syncthing/config/folders", config=folder)
    assert (call.method, call.path, call.body) == ("post", "/rest/config/folders", folder)
    patch = build("POST", "/syncthing/config/folders", id="f", method="PATCH", config={"x": 1})
    assert (patch.method, patch.path) == ("patch", "/rest/config/folders/f")
    assert build("POST", "/syncthing/config/options", config={}).method == "put"
    assert build("POST", "/syncthing/cluster/pending/devices", device="D").method == "delete"
    assert build("POST", "/syncthing/config/defaults/ignores", method="get").method == "put"
    with pytest.raises(BadParameter, match="method must be one of"):
        build("POST", "/syncthing/config/options", method="trace")


def test_plain_text_error_body_is_sent_as_text() -> None:
    values = {BODY_TEXT: "Test error"}
    assert row("POST", "/syncthing/system/error").build(values.get).text_body == "Test error"


def test_event_long_polls_wait_past_their_hold() -> None:
    assert build("GET", "/syncthing/events", timeout="55").timeout == 65
    assert build("GET", "/syncthing/events").timeout is None
    assert build("GET", "/syncthing/events/disk", timeout="abc").timeout is None
