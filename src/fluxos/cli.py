"""The `fluxos` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fluxos import FLUXOS_COMPAT_VERSION, __version__
from fluxos.apps import deploy as _deploy  # noqa: F401  (registers apps deploy/status)
from fluxos.apps.command import apps_app
from fluxos.config import load_settings
from fluxos.errors import ConfigError, FluxError
from fluxos.explorer import command as explorer_command
from fluxos.sync import command as syncthing_command
from fluxos.system.logfiles import configure_logging
from fluxos.web import command as ui_command

app = typer.Typer(
    help="FluxOS node software for the Flux decentralized cloud.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect the node's configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(apps_app, name="apps")
app.add_typer(explorer_command.app, name="explorer")
app.add_typer(syncthing_command.app, name="syncthing")
app.add_typer(ui_command.app, name="ui")
console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Node data directory (default ~/.fluxos or $FLUXOS_DATA_DIR)."),
]


def _settings(data_dir: Path | None, **overrides: object):  # type: ignore[no-untyped-def]
    try:
        return load_settings(data_dir, overrides)
    except ConfigError as error:
        err_console.print(f"[red]fluxos:[/red] {error}")
        raise typer.Exit(2) from None


@app.command()
def start(
    data_dir: DataDir = None,
    api_port: Annotated[
        int | None, typer.Option("--api-port", help="API port (16127, 16137, … 16197).")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
) -> None:
    """Run a Flux node."""
    from fluxos.serve import serve

    settings = _settings(data_dir, apiport=api_port, host=host)
    configure_logging(settings.log_dir, settings.log_level, settings.log_console)
    serve(settings)


def _register_bench() -> None:
    """`fluxos bench` is the bench's own command (`python -m fluxos.bench`), same options."""
    from fluxos.bench.__main__ import main as bench_main

    app.command(
        "bench",
        help="Measure this machine, decide its fluxnode tier, and serve fluxbenchd's JSON-RPC.",
    )(bench_main)


_register_bench()


@app.command()
def devnet(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Devnet data dir (chain, wallets, flux.conf); ~/.fluxos/devnet."
        ),
    ] = None,
    rpc_port: Annotated[
        int, typer.Option("--rpc-port", help="First RPC port (0: any free ports).")
    ] = 16124,
    nodes: Annotated[
        int, typer.Option("--nodes", min=1, help="Simulated fluxd endpoints (fluxnodes).")
    ] = 1,
    start_height: Annotated[
        int | None, typer.Option("--start-height", min=1, help="Height of the first block.")
    ] = None,
    block_time: Annotated[
        float | None,
        typer.Option("--block-time", min=0.001, help="Mine a block every S seconds."),
    ] = None,
) -> None:
    """A local Flux chain speaking fluxd's JSON-RPC (one endpoint per simulated fluxd)."""
    from fluxos.devnet.command import run_devnet
    from fluxos.devnet.server import DEFAULT_START_HEIGHT

    directory = data_dir or Path.home() / ".fluxos" / "devnet"
    run_devnet(directory, rpc_port, nodes, start_height or DEFAULT_START_HEIGHT, block_time)


@app.command()
def version() -> None:
    """Print the fluxos version and the FluxOS version it is compatible with."""
    console.print(f"fluxos {__version__} (FluxOS API {FLUXOS_COMPAT_VERSION})")


WifKey = Annotated[
    str | None, typer.Option("--key", help="ZelID private key in WIF (Bitcoin signed messages).")
]
EthKey = Annotated[
    str | None, typer.Option("--eth-key", help="Ethereum private key in hex (personal_sign).")
]


def _signer(key: str | None, eth_key: str | None):  # type: ignore[no-untyped-def]
    from fluxos.identity.client import bitcoin_signer, ethereum_signer

    if (key is None) == (eth_key is None):
        err_console.print("[red]fluxos:[/red] give exactly one of --key WIF or --eth-key HEX")
        raise typer.Exit(2)
    try:
        return bitcoin_signer(key) if key is not None else ethereum_signer(eth_key or "")
    except FluxError as error:
        err_console.print(f"[red]fluxos:[/red] {error.message}")
        raise typer.Exit(2) from None


@app.command()
def keygen(
    eth: Annotated[bool, typer.Option("--eth", help="An Ethereum key and address.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a new ZelID: print its address and private key (WIF, or hex with --eth)."""
    from fluxos.identity.client import new_bitcoin_key, new_ethereum_key

    address, secret = new_ethereum_key() if eth else new_bitcoin_key()
    label = "eth_key" if eth else "wif"
    if as_json:
        print(json.dumps({"address": address, label: secret}))
    else:
        print(f"address: {address}\n{label}: {secret}")


@app.command()
def sign(
    message: Annotated[str, typer.Argument(help="The text to sign, e.g. a login phrase.")],
    key: WifKey = None,
    eth_key: EthKey = None,
) -> None:
    """Sign MESSAGE: a base64 Bitcoin message signature, or 0x-hex with --eth-key."""
    print(_signer(key, eth_key).sign(message))


@app.command()
def login(
    url: Annotated[str, typer.Option("--url", help="The node, e.g. http://HOST:16127.")],
    key: WifKey = None,
    eth_key: EthKey = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the header's JSON form instead.")
    ] = False,
) -> None:
    """Log in to a node and print the zelidauth header value (curl -H "zelidauth: …")."""
    import httpx

    from fluxos.identity.client import login as log_in

    signer = _signer(key, eth_key)
    try:
        credentials = log_in(url, signer)
    except (FluxError, httpx.HTTPError) as error:
        err_console.print(f"[red]fluxos:[/red] {getattr(error, 'message', None) or error}")
        raise typer.Exit(1) from None
    print(credentials.header_json() if as_json else credentials.header_qs())


@app.command()
def cluster(
    count: Annotated[int, typer.Argument(help="Number of nodes (127.0.0.2 … 127.0.0.N+1).")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Cluster directory (default ~/.fluxos/cluster)."),
    ] = None,
    min_outgoing: Annotated[
        int | None, typer.Option("--min-outgoing", help="Deterministic outbound peers (8).")
    ] = None,
    min_incoming: Annotated[
        int | None, typer.Option("--min-incoming", help="Wanted inbound peers (4).")
    ] = None,
) -> None:
    """Run a devnet and COUNT nodes on loopback addresses: a Flux network on one machine."""
    from rich.table import Table

    from fluxos.network.cluster import Cluster, ClusterError, PeerTargets

    targets = PeerTargets(
        min_outgoing=min_outgoing,
        outgoing_target=min_outgoing,
        min_incoming=min_incoming,
        incoming_target=min_incoming,
    )
    directory = data_dir or Path.home() / ".fluxos" / "cluster"
    try:
        network = Cluster(count, directory, targets=targets, syncthing=True)
        network.start(progress=lambda text: console.print(f"[dim]{text}…[/dim]"))
    except ClusterError as error:
        err_console.print(f"[red]fluxos cluster:[/red] {error}")
        raise typer.Exit(1) from None
    table = Table(title=f"fluxos cluster: {count} nodes")
    for column in ("node", "API", "fluxnode pubkey"):
        table.add_column(column, no_wrap=True)
    for node in network.nodes:
        table.add_row(str(node.index), node.url, node.pubkey()[:16] + "…")
    console.print(table)
    owner_wif = network.data_dir / "owner.wif"
    console.print(
        f"data: {network.data_dir} (node i logs in node-i/process.log)\n"
        "status pages: http://<node ip>:16126/ (health checks: /health there)\n"
        f"owner ZelID, admin on every node: {network.owner_zelid}\n"
        f"log in: fluxos login --url {network.nodes[0].url} --key $(cat {owner_wif})\n"
        "Ctrl-C stops the cluster."
    )
    try:
        network.wait()
    finally:
        console.print("stopping the cluster…")
        network.stop()


@app.command()
def doctor(
    data_dir: DataDir = None,
    url: Annotated[
        str | None, typer.Option("--url", help="The node's API (default: from its settings).")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Also write a support archive (logs, settings, no keys)."),
    ] = None,
) -> None:
    """Check what the node needs and say what is wrong; exits 1 on a failure."""
    import asyncio

    from fluxos.system.doctor import examine, failed
    from fluxos.system.supportbundle import write_bundle

    settings = _settings(data_dir)
    findings = asyncio.run(examine(settings, url))
    report = "".join(finding.line() + "\n" for finding in findings)
    typer.echo(report, nl=False)  # plain lines, never wrapped: scripts read them
    if bundle is not None:
        write_bundle(bundle, settings, report)
        typer.echo(f"support archive: {bundle} (keys and passwords removed)")
    if failed(findings):
        raise typer.Exit(1)


@app.command()
def status(
    data_dir: DataDir = None,
    url: Annotated[
        str | None, typer.Option("--url", help="The node's API (default: from its settings).")
    ] = None,
    zelidauth: Annotated[
        str | None,
        typer.Option("--zelidauth", help="An admin's header (fluxos login): show error texts."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Print every background loop of the running node: its state, what it waits for,
    its restarts and last error (the node's supervisor, over its API)."""
    import time

    import httpx
    from rich.table import Table

    from fluxos.system.doctor import node_url

    base = (url or node_url(_settings(data_dir))).rstrip("/")
    headers = {"zelidauth": zelidauth} if zelidauth else {}
    try:
        reply = httpx.get(f"{base}/flux/loops", headers=headers, timeout=10)
        body = reply.json()
    except (httpx.HTTPError, ValueError) as error:
        err_console.print(f"[red]fluxos:[/red] {base} does not answer: {error}")
        raise typer.Exit(1) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        err_console.print(f"[red]fluxos:[/red] {base}/flux/loops answered: {reply.text[:200]}")
        raise typer.Exit(1)
    loops: list[dict[str, object]] = body["data"]
    if as_json:
        print(json.dumps(loops))
        return
    table = Table(title=f"background loops of {base}")
    for column in ("loop", "state", "for", "restarts", "detail", "last error"):
        table.add_column(column, overflow="fold")
    now = time.time()
    for loop in loops:
        since = loop.get("since")
        age = f"{max(0, now - since):.0f} s" if isinstance(since, int | float) else "?"
        table.add_row(
            str(loop["name"]),
            str(loop["state"]),
            age,
            str(loop.get("restarts", 0)),
            str(loop.get("detail") or ""),
            str(loop.get("lastError") or ""),
        )
    Console(width=max(console.width, 120)).print(table)


@config_app.command("show")
def config_show(data_dir: DataDir = None) -> None:
    """Print the effective settings as JSON."""
    settings = _settings(data_dir)
    console.print_json(json.dumps(settings.public_view()))


def main() -> None:
    app()
