"""Event delivery: live events to every subscriber, recorded payments replayed first."""

from pathlib import Path

from fluxos.explorer.events import AppPaymentFound, BlocksIndexed, ExplorerEvents
from fluxos.explorer.indexes import ExplorerIndexes
from fluxos.explorer.payments import MULTISIG_ADDRESS_B, PaymentRules
from fluxos.explorer.queries import ExplorerQueries
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from tests.support.chaintxs import (
    COIN,
    block,
    coinbase,
    memo,
    p2pkh_address,
    pay,
    spend,
    transaction,
)

HASHES = ["1a" * 32, "2b" * 32]


async def test_replay_then_live(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", ALL_AREAS)
    await database.open()
    try:
        indexes = ExplorerIndexes(database, PaymentRules.flux())
        funding = coinbase(pay(p2pkh_address(1), 10 * COIN))
        paid = [
            transaction(
                [spend(funding.txid_hex(), 0)], [pay(MULTISIG_ADDRESS_B, COIN), memo(HASHES[0])]
            ),
        ]
        first = block(2_100_000, [funding, *paid], None)
        second = block(
            2_100_001,
            [
                coinbase(pay(p2pkh_address(2), 1)),
                transaction(
                    [spend(paid[0].txid_hex(), 0)], [pay(MULTISIG_ADDRESS_B, COIN), memo(HASHES[1])]
                ),
            ],
            first.hash,
        )
        await indexes.apply([first, second], None, 2_100_000)
        events = ExplorerEvents(ExplorerQueries(database).app_payments)

        async with (
            events.subscribe(replay_from=0) as everything,
            events.subscribe(replay_from=2_100_001) as recent,
            events.subscribe() as live,
        ):
            assert events.subscriber_count == 3
            replayed = [everything.get_nowait(), everything.get_nowait()]
            assert [e.hash for e in replayed if isinstance(e, AppPaymentFound)] == HASHES
            assert all(isinstance(e, AppPaymentFound) and e.replayed for e in replayed)
            assert replayed[0].height == 2_100_000 and replayed[0].value == COIN
            only_recent = recent.get_nowait()
            assert isinstance(only_recent, AppPaymentFound) and only_recent.hash == HASHES[1]
            assert live.get_nowait() is None
            async with events.lock:
                events.publish(BlocksIndexed(2_100_002, True))
            for subscription in (everything, recent, live):
                assert await subscription.get() == BlocksIndexed(2_100_002, True)
                assert subscription.pending() == 0
        assert events.subscriber_count == 0
    finally:
        await database.close()
