"""`fluxos apps …`: check, price, sign and hash app specifications from the shell.

Every command prints one JSON object on stdout; an error prints the API's error
envelope and exits with status 1. Warnings (a fallback price, say) go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import typer

from fluxos.apps.errors import AppMessageError, AppSpecError
from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.heights import DaemonHeight, find_flux_conf, flux_conf_endpoint
from fluxos.apps.messages import (
    MESSAGE_VERSION,
    REGISTER_TYPES,
    UPDATE_TYPES,
    message_hash,
    sign_spec,
)
from fluxos.apps.params import DEVELOPMENT, MAINNET, AppParams
from fluxos.apps.quotes import PriceQuoter
from fluxos.apps.registration import AppSpecChecker
from fluxos.apps.specs import public_view
from fluxos.chain.rpcclient import RpcEndpoint
from fluxos.clock import SystemClock
from fluxos.config import node_data_dir
from fluxos.crypto import PrivateKey
from fluxos.errors import BadParameter, FluxError
from fluxos.jsonrpc import JsonRpcClient
from fluxos.wire.jsvalues import UNDEFINED, parse_json, stringify

logger = logging.getLogger(__name__)

apps_app = typer.Typer(
    help="Check, price, sign and hash Flux app specifications.",
    no_args_is_help=True,
    add_completion=False,
)

SpecFile = Annotated[Path, typer.Argument(help="App specification as JSON ('-' reads stdin).")]
HeightOption = Annotated[
    int | None,
    typer.Option(
        "--height", help="Block height of the rules; default: the daemon's, else the latest fork."
    ),
]
RpcOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        help="fluxd JSON-RPC URL (http://user:password@host:port) to read the height from.",
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Node data directory whose flux.conf locates fluxd (default ~/.fluxos).",
    ),
]
DevelopmentOption = Annotated[
    bool, typer.Option("--development", help="Use the development-mode activation heights.")
]


@apps_app.callback()
def _setup() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s"
    )


def _emit(value: Any) -> None:
    typer.echo(stringify(value))


def _fail(error: FluxError) -> NoReturn:
    _emit({"status": "error", "data": error.to_data()})
    raise typer.Exit(code=1)


def _read_json(path: Path, what: str) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadParameter(f"{what} {path} cannot be read: {exc.strerror}") from exc
    try:
        return parse_json(text)
    except ValueError as exc:
        raise BadParameter(f"{what} {path} is not valid JSON: {exc}") from exc


def _endpoint_from_url(rpc_url: str) -> RpcEndpoint:
    parts = urlsplit(rpc_url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return RpcEndpoint(url, parts.username or "", parts.password or "")


async def _daemon_height(endpoint: RpcEndpoint) -> int:
    async with JsonRpcClient(endpoint.url, endpoint.user, endpoint.password, timeout=10) as rpc:
        return await DaemonHeight(rpc).current_height()


def _daemon_endpoint(rpc_url: str | None, data_dir: Path | None) -> RpcEndpoint | None:
    """`--rpc-url`, else the RPC settings of the flux.conf `find_flux_conf` finds."""
    if rpc_url:
        return _endpoint_from_url(rpc_url)
    conf = find_flux_conf(data_dir)
    if conf is None:
        return None
    try:
        return flux_conf_endpoint(conf)
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("cannot read fluxd's RPC settings from %s (%s)", conf, exc)
        return None


def resolve_height(
    height: int | None, rpc_url: str | None, params: AppParams, data_dir: Path | None = None
) -> int:
    """`--height`, else the daemon's block count, else the latest fork height of `params`.

    The daemon is `--rpc-url`, or the one a flux.conf describes ($FLUXD_CONFIG_PATH, the
    data dir's flux.conf, ~/.flux/flux.conf, ~/.zelcash/zelcash.conf).
    """
    if height is not None:
        if height < 0:
            raise BadParameter(f"--height must be a non-negative block height, got {height}")
        return height
    endpoint = _daemon_endpoint(rpc_url, node_data_dir(data_dir))
    if endpoint is not None:
        try:
            return asyncio.run(_daemon_height(endpoint))
        except (FluxError, ValueError) as exc:
            logger.warning("daemon height unavailable (%s); using the latest fork height", exc)
    return params.latest_fork_height()


def _params(development: bool) -> AppParams:
    return DEVELOPMENT if development else MAINNET


@apps_app.command()
def verify(
    spec_file: SpecFile,
    height: HeightOption = None,
    update_of: Annotated[
        Path | None,
        typer.Option("--update-of", help="The app's current spec: check as an update of it."),
    ] = None,
    rpc_url: RpcOption = None,
    data_dir: DataDirOption = None,
    development: DevelopmentOption = False,
) -> None:
    """Print the formatted spec (canonical key order) if it is valid."""
    params = _params(development)
    try:
        spec = _read_json(spec_file, "spec")
        previous = (
            format_spec(_read_json(update_of, "previous spec"), params) if update_of else None
        )
        at = resolve_height(height, rpc_url, params, data_dir)
        checker = AppSpecChecker(params)
        if update_of is None:
            formatted = asyncio.run(checker.verify_registration(spec, at))
        else:
            formatted = asyncio.run(checker.verify_update(spec, at, previous))
    except FluxError as error:
        _fail(error)
    typer.echo(canonical_json(formatted))


@apps_app.command()
def price(
    spec_file: SpecFile,
    height: HeightOption = None,
    rpc_url: RpcOption = None,
    data_dir: DataDirOption = None,
    development: DevelopmentOption = False,
) -> None:
    """Print usd, flux, fluxDiscount, fluxPerMonth and onchainMinimumFlux of a registration."""
    params = _params(development)
    try:
        spec = _read_json(spec_file, "spec")
        at = resolve_height(height, rpc_url, params, data_dir)
        quote = asyncio.run(PriceQuoter(params).owner_quote(spec, at))
    except FluxError as error:
        _fail(error)
    _emit(quote)


@apps_app.command()
def sign(
    spec_file: SpecFile,
    key: Annotated[str, typer.Option("--key", help="WIF private key of the app owner.")],
    message_type: Annotated[
        str, typer.Option("--type", help="fluxappregister or fluxappupdate.")
    ] = "fluxappregister",
    timestamp: Annotated[
        int | None, typer.Option("--timestamp", help="Milliseconds since the epoch; default: now.")
    ] = None,
    height: HeightOption = None,
    rpc_url: RpcOption = None,
    data_dir: DataDirOption = None,
    development: DevelopmentOption = False,
) -> None:
    """Print the signed request body for /apps/appregister (or appupdate) with its hash."""
    params = _params(development)
    try:
        if message_type not in (*REGISTER_TYPES, *UPDATE_TYPES):
            raise BadParameter(
                f"--type must be fluxappregister or fluxappupdate, got {message_type}"
            )
        try:
            private_key = PrivateKey.from_wif(key)
        except (ValueError, TypeError) as exc:
            raise BadParameter(f"--key must be a WIF private key: {exc}") from exc
        spec = _read_json(spec_file, "spec")
        at = resolve_height(height, rpc_url, params, data_dir)
        checker = AppSpecChecker(params)
        if message_type in REGISTER_TYPES:
            asyncio.run(checker.verify_registration(spec, at))
        else:
            asyncio.run(checker.check_spec(spec, at))
        formatted = format_spec(spec, params)
        when = SystemClock().millis() if timestamp is None else timestamp
        signature = sign_spec(formatted, private_key, message_type=message_type, timestamp=when)
    except FluxError as error:
        _fail(error)
    _emit(
        {
            "type": message_type,
            "version": MESSAGE_VERSION,
            "appSpecification": formatted,
            "timestamp": when,
            "signature": signature,
            "hash": message_hash(
                message_type, MESSAGE_VERSION, public_view(formatted), when, signature
            ),
        }
    )


@apps_app.command("hash")
def hash_(
    body_file: Annotated[
        Path, typer.Argument(help="Signed register/update body as JSON ('-' reads stdin).")
    ],
    development: DevelopmentOption = False,
) -> None:
    """Print the message hash of a signed body: the value for the payment's OP_RETURN."""
    params = _params(development)
    try:
        body = _read_json(body_file, "body")
        if not isinstance(body, dict):
            raise AppMessageError("the body must be a JSON object")
        spec = body.get("appSpecification", body.get("appSpecifications", UNDEFINED))
        if isinstance(spec, str):
            spec = parse_json(spec)
        message_type, signature = body.get("type"), body.get("signature")
        if not isinstance(message_type, str) or not isinstance(signature, str):
            raise AppMessageError("the body needs type and signature strings")
        if "timestamp" not in body or "version" not in body:
            raise AppMessageError("the body needs version and timestamp")
        stored = public_view(format_spec(spec, params))
        digest = message_hash(message_type, body["version"], stored, body["timestamp"], signature)
    except (FluxError, ValueError) as error:
        _fail(error if isinstance(error, FluxError) else AppSpecError(str(error)))
    _emit({"hash": digest})


def main() -> None:
    """Run `apps_app` as a program (python -m fluxos.apps)."""
    apps_app()
