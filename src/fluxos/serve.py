"""Running a node as this process: its API server and home port until a signal, then a
restart in place when `/flux/restart` asked for one and no restart hook is set."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from fluxos.config import Settings
from fluxos.errors import ConfigError
from fluxos.node import Node

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    """Run a node and its API until SIGINT/SIGTERM (blocking)."""
    from fluxos.api.app import create_app
    from fluxos.api.server import ConnectionLimits, server_config
    from fluxos.web.home import HomeServer, HomeSite

    try:
        node = Node(settings, manage_daemons=True, manage_syncthing=True, run_apps=True)
    except ConfigError as error:
        raise SystemExit(f"fluxos: {error}") from None
    limits = ConnectionLimits(**settings.edge.model_dump())
    # the home port (API port - 1): /health, which peers probe (p2p.md §15), and the UI
    site = HomeSite(node.ui_bundles, node.node_status)
    home = HomeServer(settings.host, settings.home_port, limits, site)
    node.add_background("home port", home.run)
    config, _guard = server_config(
        create_app(node),
        settings.host,
        settings.apiport,
        limits=limits,
        # liveness of inbound peer sockets (ASGI cannot send pings; the server does)
        ws_ping_interval=node.network.params.ping_interval,
        ws_ping_timeout=node.network.params.ping_interval * node.network.params.max_missed_pongs,
        ws_max_size=node.network.params.max_frame_bytes,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)

    def shutdown() -> None:
        server.should_exit = True

    node.software.restarter.shutdown = shutdown
    server.run()
    if not server.started:
        raise SystemExit(f"fluxos: could not serve on {settings.host}:{settings.apiport}")
    if node.software.restarter.fatal_reason:
        raise SystemExit(f"fluxos: {node.software.restarter.fatal_reason}")
    if node.software.restarter.reexec_requested:
        # /flux/restart without a restart hook: the same command line, in this process
        log.warning("FluxOS restarting: %s", " ".join(sys.argv))
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.execv(sys.executable, [sys.executable, *_restart_argv()])  # noqa: S606


def _restart_argv() -> list[str]:
    """How this process was started, as `python` arguments (`-m fluxos …` when launched
    by the `fluxos` script or `python -m fluxos`)."""
    argv = list(sys.argv)
    if argv and (argv[0].endswith("fluxos") or argv[0].endswith("__main__.py")):
        return ["-m", "fluxos", *argv[1:]]
    return argv
