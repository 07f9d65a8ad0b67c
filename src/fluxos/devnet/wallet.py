"""One endpoint's transparent wallet: keys, its coins, coin selection, signing, history.

Keys live in the store; the wallet's coins are followed through chain events (and rebuilt
from the address index on import/rescan), so reorgs need no wallet-specific undo. The
history RPCs read the chain's address index for the wallet's addresses.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fluxos.chain.amounts import format_coins
from fluxos.chain.params import COINBASE_MATURITY, DEFAULT_TX_EXPIRY_DELTA
from fluxos.chain.script import p2pkh_script, p2sh_script, solve
from fluxos.chain.sighash import SIGHASH_ALL, SighashCache
from fluxos.chain.signing import sign_input
from fluxos.chain.transaction import OutPoint, Transaction, TxIn, TxOut
from fluxos.clock import Clock
from fluxos.crypto.hashes import hash160
from fluxos.crypto.keys import PrivateKey
from fluxos.devnet.chainstate import BlockEntry, ChainState, ParsedBlock, UtxoKey
from fluxos.devnet.indexes import ChainIndexes, address_key, key_address
from fluxos.devnet.mempool import MEMPOOL_HEIGHT, Mempool
from fluxos.devnet.store import Store, StoredKey
from fluxos.devnet.validation import Coin, dust_threshold

log = logging.getLogger(__name__)

DEFAULT_FEE_PER_KB = 1_000  # zatoshis; fluxd's wallet minimum fee rate
MAX_TX_FEE = 10_000_000  # fluxd's -maxtxfee default, 0.1 FLUX
KEYPOOL_SIZE = 100


class WalletError(Exception):
    """A wallet operation failed; `code` is fluxd's RPC code (-4 wallet, -6 funds, -5 key)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class WalletKey:
    key: PrivateKey
    akey: bytes
    label: str
    created: int
    change: bool = False

    @property
    def address(self) -> str:
        return key_address(self.akey)


@dataclass(slots=True)
class WalletTx:
    """A transaction touching the wallet, as the history RPCs need it."""

    txid: bytes
    tx: Transaction
    size: int
    height: int | None
    block_hash: bytes | None
    position: int
    time: int
    debit: int = 0
    debit_watch: bool = False
    all_inputs_mine: bool = False
    outputs: list[tuple[int, str | None, int, str | None]] = field(default_factory=list)
    # (vout, address, value, "spendable"|"watch"|None)


def _stored_key(data: str) -> PrivateKey:
    if data.startswith("hex:"):
        return PrivateKey.from_secret(bytes.fromhex(data[4:]), compressed=True)
    return PrivateKey.from_wif(data)


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _estimated_size(n_inputs: int, scripts: list[bytes]) -> int:
    """Signed size: P2PKH inputs of ~148 bytes, outputs as given plus a change output."""
    outputs = sum(9 + len(s) for s in scripts) + 34
    return 4 + 4 + 3 + 148 * n_inputs + 3 + outputs + 4 + 4 + 8 + 3


class Wallet:
    """Keys and coins of one simulated fluxd."""

    def __init__(
        self,
        endpoint: int,
        store: Store,
        chain: ChainState,
        indexes: ChainIndexes,
        mempool: Mempool,
        clock: Clock,
    ) -> None:
        self.endpoint = endpoint
        self.store = store
        self.chain = chain
        self.indexes = indexes
        self.mempool = mempool
        self.clock = clock
        self.keys: dict[bytes, WalletKey] = {}
        self.scripts: dict[bytes, bytes] = {}  # P2SH address key -> redeem script
        self.watch: dict[bytes, str] = {}  # watch-only address key -> label
        # coinbase coins apart: young ones are immature and would be skipped one by one on
        # every coin selection
        self.coins: dict[UtxoKey, tuple[bytes, Coin]] = {}
        self.coinbase_coins: dict[UtxoKey, tuple[bytes, Coin]] = {}
        # address key -> its outpoints in `coins` / `coinbase_coins`, in the same order: a
        # payment from one address must not walk every coin of a wallet with thousands
        self._coins_of: dict[bytes, dict[UtxoKey, None]] = {}
        self._coinbase_coins_of: dict[bytes, dict[UtxoKey, None]] = {}
        self.locked: set[UtxoKey] = set()
        self.fee_per_kb = 0
        self.tx_notes: dict[bytes, dict[str, str]] = {}
        self.tx_seen: dict[bytes, int] = {}
        self._pending_change: WalletKey | None = None
        self._last_cache: SighashCache | None = None
        self.pool: deque[tuple[int, PrivateKey]] = deque()
        for seq, stored in store.keys(endpoint):
            self._load(seq, stored)

    # ------------------------------------------------------------------ keys
    def _load(self, seq: int, stored: StoredKey) -> None:
        if stored.kind in ("key", "change"):
            key = _stored_key(stored.data)
            akey = b"\x01" + hash160(key.public_key)
            self.keys[akey] = WalletKey(
                key, akey, stored.label, stored.created, stored.kind == "change"
            )
        elif stored.kind == "pool":
            self.pool.append((seq, _stored_key(stored.data)))
        elif stored.kind == "script":
            script = bytes.fromhex(stored.data)
            self.scripts[b"\x02" + hash160(script)] = script
        elif stored.kind == "watch":
            self.watch[bytes.fromhex(stored.data)] = stored.label

    def _persist(self, kind: str, data: str, label: str) -> int:
        now = int(self.clock.time())
        self.store.add_key(StoredKey(self.endpoint, kind, data, label, now))
        return now

    def refill_keypool(self, size: int = KEYPOOL_SIZE) -> None:
        """Pre-generate keys so new addresses need no write of their own (fluxd's keypool)."""
        now = int(self.clock.time())
        fresh = [PrivateKey.generate(compressed=True) for _ in range(max(0, size - len(self.pool)))]
        # generated keys are stored as hex secrets: base58 for thousands of keys is slow
        stored = [StoredKey(self.endpoint, "pool", "hex:" + k.secret.hex(), "", now) for k in fresh]
        ids = self.store.add_keys(stored)
        self.pool.extend(zip(ids, fresh, strict=True))

    def new_key(self, label: str = "", change: bool = False) -> WalletKey:
        """A fresh key from the keypool, recorded as an address of this wallet."""
        if not self.pool:
            self.refill_keypool()
        seq, key = self.pool.popleft()
        akey = b"\x01" + hash160(key.public_key)
        now = int(self.clock.time())
        self.store.take_pool_key(seq, "change" if change else "key", label)
        entry = WalletKey(key, akey, label, now, change)
        self.keys[akey] = entry
        return entry

    def add_key(self, key: PrivateKey, label: str = "", change: bool = False) -> WalletKey:
        akey = b"\x01" + hash160(key.public_key)
        existing = self.keys.get(akey)
        if existing is not None:
            return existing
        created = self._persist("change" if change else "key", key.to_wif(), label)
        entry = WalletKey(key, akey, label, created, change)
        self.keys[akey] = entry
        return entry

    def add_script(self, script: bytes, label: str = "") -> bytes:
        akey = b"\x02" + hash160(script)
        if akey not in self.scripts:
            self._persist("script", script.hex(), label)
            self.scripts[akey] = script
        if label:
            self.watch.setdefault(akey, label)
        return akey

    def add_watch(self, akey: bytes, label: str = "") -> None:
        if akey not in self.watch and akey not in self.keys:
            self._persist("watch", akey.hex(), label)
            self.watch[akey] = label

    def is_mine(self, akey: bytes | None) -> str | None:
        """ "spendable", "watch" or None for an address key (fluxd's IsMine)."""
        if akey is None:
            return None
        if akey in self.keys:
            return "spendable"
        script = self.scripts.get(akey)
        if script is not None:
            sol = solve(script)
            needed = sol.data if sol.type == "multisig" else ()
            if needed and all(b"\x01" + hash160(k) in self.keys for k in needed):
                return "spendable"
        if akey in self.watch or akey in self.scripts:
            return "watch"
        return None

    def label_of(self, akey: bytes) -> str:
        wk = self.keys.get(akey)
        if wk is not None:
            return wk.label
        return self.watch.get(akey, "")

    def all_keys(self) -> list[bytes]:
        return (
            list(self.keys)
            + [k for k in self.scripts if k not in self.keys]
            + [k for k in self.watch if k not in self.keys and k not in self.scripts]
        )

    # KeyStore protocol for chain.signing
    def key_for_hash(self, h160: bytes) -> PrivateKey | None:
        wk = self.keys.get(b"\x01" + h160)
        return None if wk is None else wk.key

    def redeem_script(self, script_hash: bytes) -> bytes | None:
        return self.scripts.get(b"\x02" + script_hash)

    # ------------------------------------------------------------------ coins
    def rescan(self, keys: Iterable[bytes] | None = None) -> None:
        """Rebuild the coin set (for all keys, or add those of `keys`) from the address index."""
        if keys is None:
            for table in (self.coins, self.coinbase_coins, self._coins_of, self._coinbase_coins_of):
                table.clear()
            keys = self.all_keys()
        for akey in keys:
            if self.is_mine(akey) is None:
                continue
            for outpoint in self.indexes.unspent.get(akey, ()):
                coin = self.chain.utxo.get(outpoint)
                if coin is not None:
                    self._add_coin(outpoint, akey, coin)

    def _add_coin(self, outpoint: UtxoKey, akey: bytes, coin: Coin) -> None:
        table, index = (
            (self.coinbase_coins, self._coinbase_coins_of)
            if coin.coinbase
            else (self.coins, self._coins_of)
        )
        table[outpoint] = (akey, coin)
        index.setdefault(akey, {})[outpoint] = None

    def _drop_coin(self, outpoint: UtxoKey) -> None:
        for table, index in (
            (self.coins, self._coins_of),
            (self.coinbase_coins, self._coinbase_coins_of),
        ):
            found = table.pop(outpoint, None)
            if found is not None:
                of_key = index[found[0]]
                del of_key[outpoint]
                if not of_key:
                    del index[found[0]]
                return

    def coin(self, outpoint: UtxoKey) -> tuple[bytes, Coin] | None:
        """(address key, coin) of a confirmed wallet coin."""
        return self.coins.get(outpoint) or self.coinbase_coins.get(outpoint)

    def block_connected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        for pos, tx in enumerate(parsed.block.txs):
            if pos:
                for txin in tx.vin:
                    self._drop_coin((txin.prevout.txid, txin.prevout.n))
            txid = parsed.txids[pos]
            for n, out in enumerate(tx.vout):
                akey = address_key(out.script_pubkey)
                if akey is not None and self.is_mine(akey) is not None:
                    self._add_coin(
                        (txid, n), akey, Coin(out.value, out.script_pubkey, entry.height, pos == 0)
                    )

    def block_disconnected(
        self, entry: BlockEntry, parsed: ParsedBlock, spent: list[list[Coin]]
    ) -> None:
        for pos in range(len(parsed.block.txs) - 1, -1, -1):
            tx = parsed.block.txs[pos]
            for n in range(len(tx.vout)):
                self._drop_coin((parsed.txids[pos], n))
            for txin, coin in zip(tx.vin, spent[pos], strict=False):
                akey = address_key(coin.script)
                if akey is not None and self.is_mine(akey) is not None:
                    self._add_coin((txin.prevout.txid, txin.prevout.n), akey, coin)

    def depth(self, coin: Coin) -> int:
        return 0 if coin.height == MEMPOOL_HEIGHT else self.chain.height - coin.height + 1

    def is_mature(self, coin: Coin) -> bool:
        return not coin.coinbase or self.depth(coin) > COINBASE_MATURITY

    def unspent(
        self, include_mempool: bool = True, of_key: bytes | None = None
    ) -> Iterator[tuple[UtxoKey, bytes, Coin]]:
        """Every wallet coin (of one address key when given) not spent in the pool; pool
        outputs too when asked."""
        spent_by = self.mempool.spent_by
        if of_key is None:
            for coins in (self.coins, self.coinbase_coins):
                for outpoint, (akey, coin) in coins.items():
                    if outpoint not in spent_by:
                        yield outpoint, akey, coin
        else:
            for coins, index in (
                (self.coins, self._coins_of),
                (self.coinbase_coins, self._coinbase_coins_of),
            ):
                for outpoint in index.get(of_key, ()):
                    if outpoint not in spent_by:
                        yield outpoint, of_key, coins[outpoint][1]
        if include_mempool:
            for txid, entry in self.mempool.entries.items():
                for n, out in enumerate(entry.tx.vout):
                    pool_key = address_key(out.script_pubkey)
                    if pool_key is None or (txid, n) in spent_by or self.is_mine(pool_key) is None:
                        continue
                    if of_key is not None and pool_key != of_key:
                        continue
                    pool_coin = Coin(out.value, out.script_pubkey, MEMPOOL_HEIGHT, False)
                    yield (txid, n), pool_key, pool_coin

    def _trusted(self, outpoint: UtxoKey, coin: Coin) -> bool:
        """Confirmed, or unconfirmed change of our own transaction (fluxd's IsTrusted)."""
        if coin.height != MEMPOOL_HEIGHT:
            return True
        entry = self.mempool.entries.get(outpoint[0])
        return entry is not None and all(
            self.is_mine(address_key(c.script)) == "spendable" for c in entry.spent
        )

    def spendable(
        self, min_conf: int = 1, from_key: bytes | None = None, include_watch: bool = False
    ) -> Iterator[tuple[UtxoKey, bytes, Coin]]:
        """Coins we may spend: mature, unlocked, deep enough (own pool change counts at 1)."""
        tip = self.chain.height
        mature_below = tip - COINBASE_MATURITY  # a coinbase at this height or lower is mature
        locked = self.locked
        for outpoint, akey, coin in self.unspent(of_key=from_key):
            if outpoint in locked or (coin.coinbase and coin.height > mature_below):
                continue
            if not include_watch and akey not in self.keys and self.is_mine(akey) != "spendable":
                continue
            depth = 0 if coin.height == MEMPOOL_HEIGHT else tip - coin.height + 1
            if depth < min_conf and not (
                depth == 0 and min_conf == 1 and self._trusted(outpoint, coin)
            ):
                continue
            yield outpoint, akey, coin

    def balance(
        self, min_conf: int = 1, include_watch: bool = False, from_key: bytes | None = None
    ) -> int:
        """Spendable value (of one address when `from_key` is given)."""
        coins = self.spendable(min_conf, from_key, include_watch)
        return sum(c.value for _, _, c in coins)

    def unconfirmed_balance(self) -> int:
        return sum(
            c.value
            for o, a, c in self.unspent()
            if c.height == MEMPOOL_HEIGHT
            and not self._trusted(o, c)
            and self.is_mine(a) == "spendable"
        )

    def immature_balance(self) -> int:
        return sum(c.value for _, _, c in self.unspent(False) if not self.is_mature(c))

    # ------------------------------------------------------------------ sending
    def fee_for(self, size: int) -> int:
        rate = self.fee_per_kb or DEFAULT_FEE_PER_KB
        return max(rate * size // 1000, rate * 226 // 1000)

    def create_transaction(
        self,
        recipients: list[tuple[bytes, int, bool]],
        min_conf: int = 1,
        from_key: bytes | None = None,
        inputs: list[tuple[UtxoKey, Coin]] | None = None,
    ) -> tuple[Transaction, int]:
        """Build and sign a payment (script, amount, subtract-fee) → (tx, fee); WalletError."""
        if not recipients or any(a <= 0 for _, a, _ in recipients):
            raise WalletError(-6, "Transaction amounts must be positive")
        total = sum(a for _, a, _ in recipients)
        subtract = any(s for _, _, s in recipients)
        height = self.chain.height + 1
        chosen: list[tuple[UtxoKey, Coin]] = list(inputs or [])
        n_inputs = max(1, len(chosen))
        for _ in range(20):
            fee = self.fee_for(_estimated_size(n_inputs, [s for s, _, _ in recipients]))
            need = total if subtract else total + fee
            if inputs is None:
                chosen = self._select(need, min_conf, from_key)
            have = sum(c.value for _, c in chosen)
            if have < need:
                raise WalletError(-6, "Insufficient funds")
            if len(chosen) > n_inputs:
                n_inputs = len(chosen)
                continue  # more inputs than the fee assumed: price them in and select again
            outputs = self._outputs(recipients, fee)
            change = have - sum(v for _, v in outputs) - fee
            tx = Transaction(
                vin=[TxIn(OutPoint(t, n), b"", 0xFFFFFFFE) for (t, n), _ in chosen],
                vout=[TxOut(v, s) for s, v in outputs],
                lock_time=self.chain.height,
                expiry_height=height + DEFAULT_TX_EXPIRY_DELTA,
            )
            change_script = self._change_script(from_key)
            if change >= dust_threshold(change_script):
                tx.vout.append(TxOut(change, change_script))
            if fee > MAX_TX_FEE:
                raise WalletError(-4, "Transaction too large for fee policy")
            errors = self.sign(tx, [c for _, c in chosen], verify=False)
            if any(errors):
                raise WalletError(-4, "Signing transaction failed")
            return tx, have - tx.value_out()
        raise WalletError(-4, "Transaction too large")

    def _outputs(
        self, recipients: list[tuple[bytes, int, bool]], fee: int
    ) -> list[tuple[bytes, int]]:
        takers = [i for i, (_, _, s) in enumerate(recipients) if s]
        outputs: list[tuple[bytes, int]] = []
        for i, (script, amount, _subtract) in enumerate(recipients):
            if i in takers:
                share = fee // len(takers) + (fee % len(takers) if i == takers[0] else 0)
                amount -= share
            if amount < dust_threshold(script) and solve(script).type != "nulldata":
                raise WalletError(-4, "Transaction amount too small")
            outputs.append((script, amount))
        return outputs

    def _change_script(self, from_key: bytes | None) -> bytes:
        if from_key is not None:
            return p2pkh_script(from_key[1:]) if from_key[0] == 1 else p2sh_script(from_key[1:])
        if self._pending_change is None:
            self._pending_change = self.new_key(change=True)
        return p2pkh_script(hash160(self._pending_change.key.public_key))

    def _select(
        self, need: int, min_conf: int, from_key: bytes | None
    ) -> list[tuple[UtxoKey, Coin]]:
        candidates: list[tuple[UtxoKey, Coin]] = []
        for outpoint, akey, coin in self.spendable(min_conf, from_key):
            if self.is_mine(akey) != "spendable":
                continue
            if coin.value >= need:
                return [(outpoint, coin)]
            candidates.append((outpoint, coin))
        candidates.sort(key=lambda oc: oc[1].value, reverse=True)
        chosen: list[tuple[UtxoKey, Coin]] = []
        total = 0
        for item in candidates:
            chosen.append(item)
            total += item[1].value
            if total >= need:
                break
        return chosen

    def sign(
        self,
        tx: Transaction,
        coins: list[Coin],
        hash_type: int = SIGHASH_ALL,
        verify: bool = True,
    ) -> list[str | None]:
        """Sign every input we can; returns fluxd's script error (or None) per input."""
        cache = SighashCache(tx)
        self._last_cache = cache
        errors: list[str | None] = []
        for n, coin in enumerate(coins):
            script_sig, error = sign_input(
                cache, n, coin.script, coin.value, self, hash_type, verify
            )
            tx.vin[n].script_sig = script_sig
            errors.append(error)
        return errors

    def commit(self, tx: Transaction, notes: dict[str, str] | None = None) -> bytes:
        """Put a signed wallet transaction in the pool; the change key is then used up."""
        raw = tx.serialize()
        cache = (
            self._last_cache if self._last_cache is not None and self._last_cache.tx is tx else None
        )
        entry = self.mempool.accept(
            tx, raw, txid=_sha256d(raw), allow_high_fees=True, sighash_cache=cache
        )
        self._last_cache = None
        pending = self._pending_change
        if pending is not None:
            change_script = p2pkh_script(hash160(pending.key.public_key))
            if any(out.script_pubkey == change_script for out in tx.vout):
                self._pending_change = None
        self.tx_seen.setdefault(entry.txid, entry.time)
        if notes:
            self.tx_notes[entry.txid] = notes
        return entry.txid

    def describe(self) -> str:
        return (
            f"wallet {self.endpoint}: {len(self.keys)} keys, balance {format_coins(self.balance())}"
        )
