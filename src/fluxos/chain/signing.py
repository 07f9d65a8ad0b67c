"""Producing scriptSigs for standard outputs (fluxd's ProduceSignature + CombineSignatures).

Supports P2PKH, P2PK, bare multisig and P2SH-wrapped versions of those. Signatures already
present in an input are kept when they still verify, so several parties can sign a
multisig input in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fluxos.chain.interpreter import (
    STANDARD_FLAGS,
    ScriptFailure,
    TransactionChecker,
    verify_script,
)
from fluxos.chain.script import OP_0, ScriptError, iter_ops, push_data, solve
from fluxos.chain.sighash import SIGHASH_ALL, SighashCache
from fluxos.crypto.hashes import hash160
from fluxos.crypto.keys import PrivateKey


class KeyStore(Protocol):
    """Where signing finds private keys and redeem scripts."""

    def key_for_hash(self, h160: bytes) -> PrivateKey | None: ...

    def redeem_script(self, script_hash: bytes) -> bytes | None: ...


@dataclass
class SimpleKeyStore:
    """Keys and scripts given explicitly (signrawtransaction's privatekeys/prevtxs)."""

    keys: dict[bytes, PrivateKey]
    scripts: dict[bytes, bytes]

    @classmethod
    def of(cls, keys: list[PrivateKey], scripts: list[bytes] | None = None) -> SimpleKeyStore:
        return cls(
            {hash160(k.public_key): k for k in keys},
            {hash160(s): s for s in scripts or []},
        )

    def key_for_hash(self, h160: bytes) -> PrivateKey | None:
        return self.keys.get(h160)

    def redeem_script(self, script_hash: bytes) -> bytes | None:
        return self.scripts.get(script_hash)


def _pushes(script_sig: bytes) -> list[bytes]:
    try:
        return [d for _, d in iter_ops(script_sig) if d is not None]
    except ScriptError:
        return []


def _sign(
    key: PrivateKey, cache: SighashCache, n_in: int, code: bytes, amount: int, ht: int
) -> bytes:
    return key.sign_der(cache.digest(n_in, code, amount, ht)) + bytes((ht,))


def _solve_inner(
    script: bytes,
    cache: SighashCache,
    n_in: int,
    amount: int,
    keys: KeyStore,
    hash_type: int,
    existing: list[bytes],
) -> list[bytes] | None:
    """The pushes that satisfy `script` (not P2SH), or None if we cannot produce them all."""
    sol = solve(script)
    if sol.type == "pubkeyhash":
        key = keys.key_for_hash(sol.data[0])
        if key is None:
            return None
        return [_sign(key, cache, n_in, script, amount, hash_type), key.public_key]
    if sol.type == "pubkey":
        key = keys.key_for_hash(hash160(sol.data[0]))
        if key is None or key.public_key != sol.data[0]:
            return None
        return [_sign(key, cache, n_in, script, amount, hash_type)]
    if sol.type == "multisig":
        return _multisig(
            script, sol.data, sol.required, cache, n_in, amount, keys, hash_type, existing
        )
    return None


def _multisig(
    script: bytes,
    pubkeys: tuple[bytes, ...],
    required: int,
    cache: SighashCache,
    n_in: int,
    amount: int,
    keys: KeyStore,
    hash_type: int,
    existing: list[bytes],
) -> list[bytes]:
    checker = TransactionChecker(cache, n_in, amount)
    sigs: list[bytes] = []
    for pubkey in pubkeys:
        if len(sigs) == required:
            break
        found = next((s for s in existing if s and checker.check_sig(s, pubkey, script)), None)
        if found is None:
            key = keys.key_for_hash(hash160(pubkey))
            if key is not None and key.public_key == pubkey:
                found = _sign(key, cache, n_in, script, amount, hash_type)
        if found is not None:
            sigs.append(found)
    return [b"", *sigs]  # b"": the dummy element CHECKMULTISIG pops


def sign_input(
    cache: SighashCache,
    n_in: int,
    script_pubkey: bytes,
    amount: int,
    keys: KeyStore,
    hash_type: int = SIGHASH_ALL,
    verify: bool = True,
) -> tuple[bytes, str | None]:
    """(new scriptSig, None if it verifies else fluxd's script error) for input `n_in`.

    With `verify=False` the result is not checked (the caller's mempool will check it).
    """
    tx = cache.tx
    existing = _pushes(tx.vin[n_in].script_sig)
    sol = solve(script_pubkey)
    pushes: list[bytes] | None
    if sol.type == "scripthash":
        redeem = keys.redeem_script(sol.data[0])
        if redeem is None and existing and hash160(existing[-1]) == sol.data[0]:
            redeem = existing[-1]
        if redeem is None:
            pushes = None
        else:
            inner = _solve_inner(redeem, cache, n_in, amount, keys, hash_type, existing[:-1])
            pushes = None if inner is None else [*inner, redeem]
    else:
        pushes = _solve_inner(script_pubkey, cache, n_in, amount, keys, hash_type, existing)
    script_sig = (
        b"".join(bytes((OP_0,)) if not p else push_data(p) for p in pushes)
        if pushes is not None
        else tx.vin[n_in].script_sig
    )
    if not verify:
        return script_sig, None if pushes is not None else "Unable to sign input"
    try:
        verify_script(
            script_sig, script_pubkey, TransactionChecker(cache, n_in, amount), STANDARD_FLAGS
        )
    except ScriptFailure as exc:
        return script_sig, str(exc)
    return script_sig, None
