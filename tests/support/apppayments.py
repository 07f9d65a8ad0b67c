"""An app owner's payment on the devnet: a real transaction from a devnet wallet to the
app-payment address with the message hash as its OP_RETURN (the last output), as Flux's
wallets build it (apps.md §7.2)."""

from __future__ import annotations

from decimal import Decimal

from fluxos.explorer.payments import MULTISIG_ADDRESS_B
from tests.support.devnetprocess import SyncRpc

FEE = Decimal("0.0001")


def pay_for_message(
    rpc: SyncRpc, message_hash: str, flux: str, address: str = MULTISIG_ADDRESS_B
) -> str:
    """Send `flux` to `address` with `message_hash` in an OP_RETURN; the txid."""
    amount = Decimal(flux)
    coin = next(
        c
        for c in rpc.call("listunspent")
        if Decimal(str(c["amount"])) >= amount + 2 * FEE and c.get("spendable", True)
    )
    change = Decimal(str(coin["amount"])) - amount - FEE
    outputs = {
        rpc.call("getnewaddress"): float(change),
        address: float(amount),
        "data": message_hash.encode().hex(),
    }
    raw = rpc.call("createrawtransaction", [{"txid": coin["txid"], "vout": coin["vout"]}], outputs)
    signed = rpc.call("signrawtransaction", raw)
    assert signed["complete"], signed
    return str(rpc.call("sendrawtransaction", signed["hex"]))
