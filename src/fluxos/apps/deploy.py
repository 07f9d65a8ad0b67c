"""`fluxos apps deploy` and `fluxos apps status`: an app owner's whole path through a node.

`deploy SPEC.json --key WIF --url NODE` logs in to the node as the spec's owner, signs the
spec (a registration, or an update when the node already knows the app), posts it, and —
given `--pay-from`, a (devnet) wallet's RPC URL — pays the node's price to the node's
payment address with the message hash as OP_RETURN (and with `--mine` mines the block of a
devnet that has no block time). It then follows the message on the
node (temporary → paid → global), one line per step on stderr, and prints the global spec
on stdout. It exits 1 with the reason when the spec does not become global in time (not
paid, underpaid, refused).

`status NAME --url NODE` prints the app's global spec, the height it expires at and the
nodes that run it.
"""

from __future__ import annotations

import time
from decimal import ROUND_UP, Decimal
from typing import Annotated, Any

import httpx
import typer

from fluxos.apps.command import (
    DevelopmentOption,
    SpecFile,
    _emit,
    _endpoint_from_url,
    _fail,
    _params,
    _read_json,
    apps_app,
)
from fluxos.apps.formatter import format_spec
from fluxos.apps.globalspecs import expiration_height
from fluxos.apps.messages import MESSAGE_VERSION, message_hash, sign_spec
from fluxos.apps.specs import public_view
from fluxos.chain.rpcclient import RpcEndpoint
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message
from fluxos.errors import BadParameter, FluxError
from fluxos.identity.client import Signer, login

FEE = Decimal("0.0001")
SATOSHIS = Decimal(100_000_000)

UrlOption = Annotated[str, typer.Option("--url", help="The node's API, e.g. http://host:16127.")]


class DeployError(FluxError):
    """The spec did not become global; the message says how far it got."""


class NodeApi:
    """The node's API as an owner sees it: envelopes unwrapped, errors raised."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(timeout=60, headers=headers or {})

    def close(self) -> None:
        self._http.close()

    def get(self, path: str) -> Any:
        # past the route's cache (a query parameter of its own; httpx's params= would
        # replace the path's query)
        separator = "&" if "?" in path else "?"
        return self._data(self._http.get(f"{self.url}{path}{separator}t={time.monotonic_ns()}"))

    def post(self, path: str, body: Any) -> Any:
        return self._data(self._http.post(self.url + path, json=body))

    def _data(self, response: httpx.Response) -> Any:
        try:
            envelope = response.json()
        except ValueError:
            raise FluxError(f"{response.request.url} answered {response.status_code}") from None
        if not isinstance(envelope, dict) or envelope.get("status") != "success":
            data = envelope.get("data") if isinstance(envelope, dict) else envelope
            message = data.get("message") if isinstance(data, dict) else data
            raise FluxError(f"{response.request.url.path}: {message}")
        return envelope.get("data")


class Wallet:
    """A fluxd wallet over JSON-RPC (a devnet's): pays with an OP_RETURN memo."""

    def __init__(self, endpoint: RpcEndpoint) -> None:
        self._endpoint = endpoint
        self._http = httpx.Client(timeout=60, auth=(endpoint.user, endpoint.password))

    def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "1.0", "id": method, "method": method, "params": list(params)}
        try:
            reply = self._http.post(self._endpoint.url, json=body).json()
        except (httpx.HTTPError, ValueError) as error:
            raise FluxError(f"wallet {method}: {error}") from None
        if reply.get("error"):
            raise FluxError(f"wallet {method}: {reply['error'].get('message')}")
        return reply.get("result")

    def pay(self, address: str, amount: Decimal, memo: str) -> str:
        coins = [
            c
            for c in self.call("listunspent")
            if Decimal(str(c["amount"])) >= amount + 2 * FEE and c.get("spendable", True)
        ]
        if not coins:
            raise FluxError(f"the wallet has no coin of {amount + 2 * FEE} FLUX to pay with")
        coin = coins[0]
        change = Decimal(str(coin["amount"])) - amount - FEE
        outputs = {
            self.call("getnewaddress"): float(change),
            address: float(amount),
            "data": memo.encode().hex(),
        }
        raw = self.call(
            "createrawtransaction", [{"txid": coin["txid"], "vout": coin["vout"]}], outputs
        )
        signed = self.call("signrawtransaction", raw)
        if not signed.get("complete"):
            raise FluxError("the wallet could not sign the payment")
        return str(self.call("sendrawtransaction", signed["hex"]))


def _owner_signer(key: PrivateKey, owner: Any) -> Signer:
    address = bitcoin_address(key.public_key)
    if owner != address:
        raise BadParameter(f"--key is not the key of the spec's owner {owner} (it is {address})")
    return Signer(address, lambda text: sign_message(text, key))


def _flux(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.00000001"), rounding=ROUND_UP)


def _minimum_payment(information: dict[str, Any]) -> Decimal:
    """The smallest payment the chain records (the latest price entry's minPrice; a free
    update is still paid that much)."""
    table = information.get("price")
    try:
        return _flux(table[-1]["minPrice"])  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError, ArithmeticError):
        return Decimal("0.01")


def _follow(node: NodeApi, hash_: str, timeout: float, say: Any) -> dict[str, Any]:
    """Wait until the message's spec is global; DeployError naming the last step seen."""
    deadline = time.monotonic() + timeout
    step = "sent"
    paid: dict[str, Any] | None = None
    while True:
        if paid is None:
            permanent = node.get(f"/apps/permanentmessages/{hash_}")
            if permanent:
                paid = permanent[0]
                step = "paid"
                say(f"paid: {paid['valueSat']} satoshis in {paid['txid']} at {paid['height']}")
            elif step == "sent" and node.get(f"/apps/temporarymessages/{hash_}"):
                step = "waiting for payment"
                say("temporary: the node holds the message, waiting for its payment")
        if paid is not None:
            specs = node.get(f"/apps/globalappsspecifications/{hash_}")
            if specs:
                say(f"global: {specs[0]['name']} at height {specs[0]['height']}")
                return dict(specs[0])
        if time.monotonic() >= deadline:
            if paid is not None:
                raise DeployError(
                    f"message {hash_} was paid ({paid['valueSat']} satoshis in {paid['txid']}) "
                    "but its spec did not become global: underpaid, or refused by the registry"
                )
            if step == "sent":
                raise DeployError(f"message {hash_}: the node no longer holds it (expired?)")
            raise DeployError(f"message {hash_} was never paid within {timeout:.0f} s")
        time.sleep(1.0)


@apps_app.command()
def deploy(
    spec_file: SpecFile,
    key: Annotated[str, typer.Option("--key", help="WIF private key of the app owner.")],
    url: UrlOption,
    pay_from: Annotated[
        str | None,
        typer.Option(
            "--pay-from",
            help="RPC URL (http://user:password@host:port) of the wallet that pays (a devnet's).",
        ),
    ] = None,
    mine: Annotated[
        bool,
        typer.Option("--mine", help="Mine a block after paying (a devnet without a block time)."),
    ] = False,
    amount: Annotated[
        str | None, typer.Option("--amount", help="FLUX to pay; default: the node's price.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the spec to become global.")
    ] = 300.0,
    development: DevelopmentOption = False,
) -> None:
    """Sign and register (or update) an app on a node, pay for it, wait until it is global."""
    params = _params(development)

    def say(line: str) -> None:
        typer.echo(line, err=True)

    node: NodeApi | None = None
    try:
        try:
            private_key = PrivateKey.from_wif(key)
        except (ValueError, TypeError) as exc:
            raise BadParameter(f"--key must be a WIF private key: {exc}") from exc
        spec = _read_json(spec_file, "spec")
        if not isinstance(spec, dict):
            raise BadParameter(f"spec {spec_file} must be a JSON object")
        signer = _owner_signer(private_key, spec.get("owner"))
        credentials = login(url, signer)
        node = NodeApi(url, {"zelidauth": credentials.header_json()})
        known = node.get(f"/apps/globalappsspecifications?appname={spec.get('name')}")
        kind, route = (
            ("fluxappupdate", "/apps/appupdate")
            if known
            else ("fluxappregister", "/apps/appregister")
        )
        formatted = format_spec(spec, params)
        timestamp = int(time.time() * 1000)
        signature = sign_spec(formatted, private_key, message_type=kind, timestamp=timestamp)
        body = {
            "type": kind,
            "version": MESSAGE_VERSION,
            "appSpecification": spec,
            "timestamp": timestamp,
            "signature": signature,
        }
        expected = message_hash(kind, MESSAGE_VERSION, public_view(formatted), timestamp, signature)
        hash_ = str(node.post(route, body))
        if hash_ != expected:
            raise DeployError(f"the node answered hash {hash_}, expected {expected}")
        say(f"{kind}: {spec.get('name')} sent, message hash {hash_}")
        information = node.get("/apps/deploymentinformation")
        if amount is not None:
            price = _flux(amount)
        else:  # the node's quote, never below what the chain records as a payment
            quote = _flux(node.post("/apps/calculateprice", spec)["flux"])
            price = max(quote, _minimum_payment(information))
        if pay_from is not None:
            wallet = Wallet(_endpoint_from_url(pay_from))
            txid = wallet.pay(information["address"], price, hash_)
            say(f"payment: {price} FLUX to {information['address']} in {txid}")
            if mine:
                wallet.call("generate", 1)
        else:
            say(f"pay {price} FLUX to {information['address']} with OP_RETURN {hash_}")
        spec_now = _follow(node, hash_, timeout, say)
        spec_now["expireHeight"] = expiration_height(spec_now, int(spec_now["height"]), params)
    except FluxError as error:
        _fail(error)
    finally:
        if node is not None:
            node.close()
    _emit(spec_now)


@apps_app.command()
def status(
    name: Annotated[str, typer.Argument(help="The app's name.")],
    url: UrlOption,
    development: DevelopmentOption = False,
) -> None:
    """Print an app's global spec, the height it expires at and where it runs."""
    params = _params(development)
    node = NodeApi(url)
    try:
        specs = node.get(f"/apps/globalappsspecifications?appname={name}")
        if not specs:
            raise FluxError(f"{name} is not a global app on {url}")
        spec = specs[0]
        height = node.get("/daemon/getblockcount")
        expires = expiration_height(spec, int(spec["height"]), params)
        locations = node.get(f"/apps/location/{spec['name']}")
    except FluxError as error:
        _fail(error)
    finally:
        node.close()
    _emit(
        {
            "name": spec["name"],
            "hash": spec["hash"],
            "owner": spec.get("owner"),
            "height": spec["height"],
            "expireHeight": expires,
            "blocksLeft": expires - int(height),
            "instances": spec.get("instances"),
            "locations": [
                {"ip": loc["ip"], "runningSince": loc.get("runningSince")} for loc in locations
            ],
            "specification": spec,
        }
    )
