"""App payments recognised on crafted devnet transactions, and delivered as events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fluxos.explorer.events import AppPaymentFound
from fluxos.explorer.payments import APP_ADDRESS, MULTISIG_ADDRESS, MULTISIG_ADDRESS_B
from fluxos.explorer.service import Explorer
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from tests.integration.explorer.conftest import rpc_client
from tests.support.chaintxs import p2pkh_address
from tests.support.devnetprocess import DevnetProcess, SyncRpc

FEE = 0.0001
GOOD, CHANGE_AFTER, UNDERPAID, ELSEWHERE, SHORT, SPLIT = (f"{i:x}" * 64 for i in range(1, 7))


def data(text: str) -> str:
    return text.encode().hex()


class Crafter:
    """Builds transactions output by output (order kept) from the wallet's own coins."""

    def __init__(self, rpc: SyncRpc) -> None:
        self.rpc = rpc
        self.used: set[tuple[str, int]] = set()

    def send(self, outputs: list[tuple[str, Any]]) -> str:
        coin = next(
            c
            for c in self.rpc.call("listunspent")
            if c["amount"] >= 3 and (c["txid"], c["vout"]) not in self.used
        )
        self.used.add((coin["txid"], coin["vout"]))
        paid = sum(value for key, value in outputs if key not in ("data", "change"))
        change = round(coin["amount"] - paid - FEE, 8)
        ordered = {
            (self.rpc.call("getnewaddress") if key == "change" else key): (
                change if key == "change" else value
            )
            for key, value in outputs
        }
        raw = self.rpc.call(
            "createrawtransaction", [{"txid": coin["txid"], "vout": coin["vout"]}], ordered
        )
        signed = self.rpc.call("signrawtransaction", raw)
        return str(self.rpc.call("sendrawtransaction", signed["hex"]))


async def test_payments_on_crafted_transactions(tmp_path: Path) -> None:
    devnet = DevnetProcess(tmp_path / "devnet").start()
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'explorer.db'}", ALL_AREAS)
    await database.open()
    try:
        rpc = devnet.rpc(0)
        craft = Crafter(rpc)
        sent = {
            GOOD: craft.send([("change", None), (MULTISIG_ADDRESS_B, 1.0), ("data", data(GOOD))]),
            CHANGE_AFTER: craft.send(
                [(MULTISIG_ADDRESS_B, 1.0), ("data", data(CHANGE_AFTER)), ("change", None)]
            ),
            UNDERPAID: craft.send(
                [("change", None), (MULTISIG_ADDRESS_B, 0.0099), ("data", data(UNDERPAID))]
            ),
            ELSEWHERE: craft.send(
                [("change", None), (p2pkh_address(5), 2.0), ("data", data(ELSEWHERE))]
            ),
            SHORT: craft.send(
                [("change", None), (MULTISIG_ADDRESS_B, 1.0), ("data", data(SHORT[:63]))]
            ),
            SPLIT: craft.send(
                [
                    ("change", None),
                    (APP_ADDRESS, 0.005),
                    (MULTISIG_ADDRESS, 0.005),
                    ("data", data(SPLIT)),
                ]
            ),
        }
        first_block = rpc.call("getblockcount") + 1
        rpc.call("generate", 1)
        again = craft.send([("change", None), (MULTISIG_ADDRESS_B, 5.0), ("data", data(GOOD))])
        rpc.call("generate", 1)

        async with rpc_client(devnet.conf_file(0)) as client:
            explorer = Explorer(database, client)
            async with explorer.events.subscribe() as live:
                await explorer.scanner.catch_up()
                found = []
                while (event := live.get_nowait()) is not None:
                    if isinstance(event, AppPaymentFound):
                        found.append(event)
            payments = await explorer.queries.app_payments()
            async with explorer.events.subscribe(replay_from=first_block) as late:
                replayed = [late.get_nowait() for _ in range(late.pending())]

        recorded = {(p.hash, p.txid, p.height, p.value) for p in payments}
        assert recorded == {
            (GOOD, sent[GOOD], first_block, 100_000_000),
            (SPLIT, sent[SPLIT], first_block, 1_000_000),
        }
        assert again not in {p.txid for p in payments}  # a paid hash is recorded once
        assert {(e.hash, e.txid, e.height, e.value) for e in found} == recorded
        assert all(isinstance(e, AppPaymentFound) and e.replayed for e in replayed)
        assert {(e.hash, e.txid) for e in replayed} == {(p.hash, p.txid) for p in payments}
    finally:
        await database.close()
        devnet.stop()
