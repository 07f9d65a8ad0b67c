"""Index writes on real SQLite: batches, spends, rewinds, payments and fluxnode owners."""

from pathlib import Path

import pytest

from fluxos.chain.fluxnodetx import CONFIRM_TX_TYPE, FluxnodeTx
from fluxos.chain.outpoint import OutPoint, hash_from_hex
from fluxos.chain.transaction import Transaction
from fluxos.explorer.blocks import ChainBlock
from fluxos.explorer.indexes import ConcurrentWriter, ExplorerIndexes
from fluxos.explorer.payments import MULTISIG_ADDRESS, MULTISIG_ADDRESS_B, PaymentRules
from fluxos.explorer.queries import ExplorerQueries
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from tests.support.chaintxs import (
    COIN,
    block,
    coinbase,
    memo,
    p2pkh_address,
    p2sh_address,
    pay,
    spend,
    transaction,
)
from tests.support.explorerdb import snapshot

START = 2_100_000
ALICE, BOB, CAROL = p2pkh_address("alice"), p2pkh_address("bob"), p2sh_address("carol")
HASH_A = "aa" * 32
HASH_B = "bb" * 32


def chain() -> list[ChainBlock]:
    """Seven blocks moving coins between three addresses, with payments and a fluxnode tx."""
    c1 = coinbase(pay(ALICE, 100 * COIN))
    c2 = coinbase(pay(BOB, 50 * COIN))
    t2 = transaction([spend(c1.txid_hex(), 0)], [pay(BOB, 30 * COIN), pay(ALICE, 69 * COIN)])
    t2b = transaction([spend(t2.txid_hex(), 1)], [pay(CAROL, 60 * COIN), pay(ALICE, 8 * COIN)])
    c3 = coinbase(pay(CAROL, 1))
    t3 = transaction(
        [spend(t2.txid_hex(), 0), spend(c2.txid_hex(), 0)],
        [pay(ALICE, 1000 * COIN), pay(MULTISIG_ADDRESS_B, 2 * COIN), memo(HASH_A)],
    )
    c4 = coinbase(pay(BOB, 1))
    t4 = transaction(
        [spend(t2b.txid_hex(), 1)], [pay(MULTISIG_ADDRESS_B, COIN), memo(HASH_A)]
    )  # repeats HASH_A
    node = Transaction(
        version=5,
        overwintered=False,
        version_group_id=0,
        fluxnode=FluxnodeTx(
            CONFIRM_TX_TYPE,
            OutPoint(hash_from_hex(t3.txid_hex()), 0),
            ip="1.2.3.4",
            benchmark_tier=1,
        ),
    )
    c5 = coinbase(pay(ALICE, 1))
    t5 = transaction(
        [spend(t2b.txid_hex(), 0)],
        [pay(BOB, 59 * COIN), pay(MULTISIG_ADDRESS_B, COIN // 2), memo(HASH_B)],
    )
    c6 = coinbase(pay(CAROL, 2))
    c7 = coinbase(pay(BOB, 3))
    t7 = transaction([spend(t5.txid_hex(), 0)], [pay(ALICE, 58 * COIN)])
    bodies = [[c1], [c2, t2, t2b], [c3, t3], [c4, t4, node], [c5, t5], [c6], [c7, t7]]
    blocks: list[ChainBlock] = []
    prev = None
    for offset, txs in enumerate(bodies):
        built = block(START + offset, txs, prev)
        blocks.append(built)
        prev = built.hash
    return blocks


@pytest.fixture
async def fresh(tmp_path: Path):
    """Opens explorer indexes on new SQLite files; closes them all at the end."""
    opened: list[Database] = []

    async def open_indexes(name: str) -> ExplorerIndexes:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / name}", ALL_AREAS)
        await database.open()
        opened.append(database)
        return ExplorerIndexes(database, PaymentRules.flux())

    yield open_indexes
    for database in opened:
        await database.close()


@pytest.fixture
async def indexes(fresh) -> ExplorerIndexes:
    return await fresh("a.db")


async def apply_all(indexes: ExplorerIndexes, blocks: list[ChainBlock], size: int) -> None:
    expected = None
    for i in range(0, len(blocks), size):
        result = await indexes.apply(blocks[i : i + size], expected, START)
        expected = result.height


async def test_addresses_after_spends(indexes: ExplorerIndexes) -> None:
    await apply_all(indexes, chain(), 7)
    queries = ExplorerQueries(indexes.database)
    assert await queries.scanned_height() == START + 6
    assert await queries.balance(ALICE) == (1000 + 58) * COIN + 1
    assert await queries.balance(BOB) == 1 + 3
    assert await queries.balance(CAROL) == 1 + 2
    history = await queries.history(ALICE)
    assert [(h.height, h.delta) for h in history] == [
        (START + 6, 58 * COIN),
        (START + 4, 1),
        (START + 3, -8 * COIN),
        (START + 2, 1000 * COIN),
        (START + 1, 8 * COIN - 69 * COIN),  # t2b spends t2's change
        (START + 1, -100 * COIN + 69 * COIN),
        (START, 100 * COIN),
    ]
    assert history[-1].time == 1_700_000_000 + START
    utxos = await queries.utxos(CAROL)
    assert [(u.height, u.satoshis, u.coinbase) for u in utxos] == [
        (START + 2, 1, True),
        (START + 5, 2, True),
    ]


async def test_batches_of_any_size_give_the_same_indexes(indexes: ExplorerIndexes, fresh) -> None:
    blocks = chain()
    await apply_all(indexes, blocks, 7)
    for size in (1, 3):
        other = await fresh(f"size{size}.db")
        await apply_all(other, blocks, size)
        assert await snapshot(other.database) == await snapshot(indexes.database)


async def test_rewind_restores_spent_outputs_exactly(indexes: ExplorerIndexes, fresh) -> None:
    blocks = chain()
    await apply_all(indexes, blocks, 7)
    assert await indexes.rewind(START + 2) == START + 2
    reference = await fresh("reference.db")
    await apply_all(reference, blocks[:3], 3)
    assert await snapshot(indexes.database) == await snapshot(reference.database)
    # and indexing again from there ends where a straight run does
    await indexes.apply(blocks[3:], START + 2, START)
    await reference.apply(blocks[3:], START + 2, START)
    assert await snapshot(indexes.database) == await snapshot(reference.database)


async def test_rewind_never_goes_below_the_start(indexes: ExplorerIndexes) -> None:
    await apply_all(indexes, chain(), 7)
    assert await indexes.rewind(5) == START - 1
    queries = ExplorerQueries(indexes.database)
    assert await queries.scanned_height() == START - 1
    assert await queries.balance(ALICE) == 0


async def test_payments_first_hash_wins(indexes: ExplorerIndexes) -> None:
    blocks = chain()
    await apply_all(indexes, blocks, 7)
    payments = await ExplorerQueries(indexes.database).app_payments()
    assert [(p.hash, p.height, p.value) for p in payments] == [
        (HASH_A, START + 2, 2 * COIN),
        (HASH_B, START + 4, COIN // 2),
    ]
    assert payments[0].txid == blocks[2].txs[1].txid


async def test_payment_seen_in_an_earlier_batch_is_not_recorded_again(
    indexes: ExplorerIndexes,
) -> None:
    await apply_all(indexes, chain(), 1)
    payments = await ExplorerQueries(indexes.database).app_payments()
    assert [p.height for p in payments] == [START + 2, START + 4]


async def test_fluxnode_owner_from_the_collateral_output(indexes: ExplorerIndexes) -> None:
    blocks = chain()
    await apply_all(indexes, blocks, 7)
    queries = ExplorerQueries(indexes.database)
    records = await queries.fluxnode_txs("ip", "1.2.3.4")
    assert len(records) == 1
    assert (records[0].address, records[0].locked_amount) == (ALICE, 1000 * COIN)
    assert records[0].benchmark_tier == "CUMULUS"
    assert await queries.fluxnode_txs("address", ALICE) == records
    assert await queries.fluxnode_txs("collateral", blocks[2].txs[1].txid) == records


async def test_a_second_writer_is_refused_and_nothing_is_written(indexes: ExplorerIndexes) -> None:
    blocks = chain()
    await apply_all(indexes, blocks[:2], 2)
    before = await snapshot(indexes.database)
    with pytest.raises(ConcurrentWriter):
        await indexes.apply(blocks[2:3], START, START)  # believes height START is the last
    with pytest.raises(ConcurrentWriter):
        await indexes.apply(blocks[2:3], None, START)  # believes nothing is indexed
    assert await snapshot(indexes.database) == before


async def test_price_message_applies_to_later_blocks_in_the_same_batch(
    indexes: ExplorerIndexes,
) -> None:
    foundation = coinbase(pay(MULTISIG_ADDRESS, 10 * COIN))
    announce = transaction(
        [spend(foundation.txid_hex(), 0)], [pay(MULTISIG_ADDRESS_B, 9 * COIN), memo("p_1_1_1_5")]
    )
    funding = coinbase(pay(ALICE, 100 * COIN))
    cheap = transaction(
        [spend(funding.txid_hex(), 0)], [pay(MULTISIG_ADDRESS_B, 4 * COIN), memo(HASH_A)]
    )
    b1 = block(START, [foundation, funding], None)
    b2 = block(START + 1, [coinbase(pay(BOB, 1)), announce], b1.hash)
    b3 = block(START + 2, [coinbase(pay(BOB, 1)), cheap], b2.hash)
    result = await indexes.apply([b1, b2, b3], None, START)
    assert [m.message for m in result.chain_messages] == ["p_1_1_1_5"]
    assert result.payments == []  # 4 FLUX is below the announced 5
    forks = await ExplorerQueries(indexes.database).price_forks()
    assert forks[-1].height == START + 1 and forks[-1].min_price == 5
    await indexes.rewind(START)
    assert indexes.prices.at(START + 2).min_price == 0.01


async def test_mark_app_message(indexes: ExplorerIndexes) -> None:
    await apply_all(indexes, chain(), 7)
    assert await indexes.mark_app_message(HASH_A) is True
    assert await indexes.mark_app_message("cc" * 32) is False


@pytest.mark.parametrize("size", [1, 9])
async def test_a_fluxnode_tx_mined_again_keeps_its_latest_height(
    indexes: ExplorerIndexes, size: int
) -> None:
    # the same confirmation (same txid) two blocks later, as fluxd's chain allows for a tx
    # without inputs: the explorer goes on, and keeps the later occurrence (as txindex does)
    blocks = chain()
    again = Transaction(
        version=5,
        overwintered=False,
        version_group_id=0,
        fluxnode=FluxnodeTx(
            CONFIRM_TX_TYPE,
            OutPoint(hash_from_hex(blocks[2].txs[1].txid), 0),
            ip="1.2.3.4",
            benchmark_tier=1,
        ),
    )
    assert again.txid_hex() == blocks[3].txs[2].txid  # the block-4 confirmation, again
    c8, c9 = coinbase(pay(ALICE, 4)), coinbase(pay(BOB, 5))
    blocks.append(block(START + 7, [c8], blocks[-1].hash))
    blocks.append(block(START + 8, [c9, again], blocks[-1].hash))
    await apply_all(indexes, blocks, size)
    queries = ExplorerQueries(indexes.database)
    assert await queries.scanned_height() == START + 8
    records = await queries.fluxnode_txs("ip", "1.2.3.4")
    assert [(r.txid, r.height) for r in records] == [(again.txid_hex(), START + 8)]
