"""Scripts: parsing, fluxd's asm text, standard templates and their addresses.

Covers what fluxd's `Solver`/`ExtractDestinations` recognise (pubkey, pubkeyhash,
scripthash, multisig, nulldata) and `ScriptToAsmStr`, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fluxos.chain.sighash import SIGHASH_ANYONECANPAY, SIGHASH_NAMES
from fluxos.crypto.addresses import (
    FLUX_P2PKH,
    FLUX_P2SH,
    address_from_hash,
    decode_flux_address,
)
from fluxos.crypto.hashes import hash160

# opcodes used by name in this package
OP_0 = 0x00
OP_PUSHDATA1 = 0x4C
OP_PUSHDATA2 = 0x4D
OP_PUSHDATA4 = 0x4E
OP_1NEGATE = 0x4F
OP_1 = 0x51
OP_16 = 0x60
OP_RETURN = 0x6A
OP_DUP = 0x76
OP_EQUAL = 0x87
OP_EQUALVERIFY = 0x88
OP_HASH160 = 0xA9
OP_CHECKSIG = 0xAC
OP_CHECKMULTISIG = 0xAE

MAX_SCRIPT_SIZE = 10_000
MAX_OP_RETURN_RELAY = 80  # fluxd's default -datacarriersize


_NAMED = {
    0x4C: "OP_PUSHDATA1", 0x4D: "OP_PUSHDATA2", 0x4E: "OP_PUSHDATA4", 0x4F: "-1",
    0x50: "OP_RESERVED", 0x61: "OP_NOP", 0x62: "OP_VER", 0x63: "OP_IF", 0x64: "OP_NOTIF",
    0x65: "OP_VERIF", 0x66: "OP_VERNOTIF", 0x67: "OP_ELSE", 0x68: "OP_ENDIF",
    0x69: "OP_VERIFY", 0x6A: "OP_RETURN", 0x6B: "OP_TOALTSTACK", 0x6C: "OP_FROMALTSTACK",
    0x6D: "OP_2DROP", 0x6E: "OP_2DUP", 0x6F: "OP_3DUP", 0x70: "OP_2OVER", 0x71: "OP_2ROT",
    0x72: "OP_2SWAP", 0x73: "OP_IFDUP", 0x74: "OP_DEPTH", 0x75: "OP_DROP", 0x76: "OP_DUP",
    0x77: "OP_NIP", 0x78: "OP_OVER", 0x79: "OP_PICK", 0x7A: "OP_ROLL", 0x7B: "OP_ROT",
    0x7C: "OP_SWAP", 0x7D: "OP_TUCK", 0x7E: "OP_CAT", 0x7F: "OP_SUBSTR", 0x80: "OP_LEFT",
    0x81: "OP_RIGHT", 0x82: "OP_SIZE", 0x83: "OP_INVERT", 0x84: "OP_AND", 0x85: "OP_OR",
    0x86: "OP_XOR", 0x87: "OP_EQUAL", 0x88: "OP_EQUALVERIFY", 0x89: "OP_RESERVED1",
    0x8A: "OP_RESERVED2", 0x8B: "OP_1ADD", 0x8C: "OP_1SUB", 0x8D: "OP_2MUL", 0x8E: "OP_2DIV",
    0x8F: "OP_NEGATE", 0x90: "OP_ABS", 0x91: "OP_NOT", 0x92: "OP_0NOTEQUAL", 0x93: "OP_ADD",
    0x94: "OP_SUB", 0x95: "OP_MUL", 0x96: "OP_DIV", 0x97: "OP_MOD", 0x98: "OP_LSHIFT",
    0x99: "OP_RSHIFT", 0x9A: "OP_BOOLAND", 0x9B: "OP_BOOLOR", 0x9C: "OP_NUMEQUAL",
    0x9D: "OP_NUMEQUALVERIFY", 0x9E: "OP_NUMNOTEQUAL", 0x9F: "OP_LESSTHAN",
    0xA0: "OP_GREATERTHAN", 0xA1: "OP_LESSTHANOREQUAL", 0xA2: "OP_GREATERTHANOREQUAL",
    0xA3: "OP_MIN", 0xA4: "OP_MAX", 0xA5: "OP_WITHIN", 0xA6: "OP_RIPEMD160", 0xA7: "OP_SHA1",
    0xA8: "OP_SHA256", 0xA9: "OP_HASH160", 0xAA: "OP_HASH256", 0xAB: "OP_CODESEPARATOR",
    0xAC: "OP_CHECKSIG", 0xAD: "OP_CHECKSIGVERIFY", 0xAE: "OP_CHECKMULTISIG",
    0xAF: "OP_CHECKMULTISIGVERIFY", 0xFF: "OP_INVALIDOPCODE",
}  # fmt: skip
_NAMED.update({0x51 + i: str(i + 1) for i in range(16)})
_NAMED.update({0xB0 + i: f"OP_NOP{i + 1}" for i in range(10)})


class ScriptError(ValueError):
    """A script cannot be parsed (a push runs past the end)."""


def opcode_name(op: int) -> str:
    """fluxd's GetOpName: small numbers as digits, others as OP_…, unknown as OP_UNKNOWN."""
    if op == OP_0:
        return "0"
    return _NAMED.get(op, "OP_UNKNOWN")


def iter_ops(script: bytes) -> Iterator[tuple[int, bytes | None]]:
    """Yield (opcode, pushed data or None) for each operation; raises ScriptError if truncated."""
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op > OP_PUSHDATA4:
            yield op, None
            continue
        if op < OP_PUSHDATA1:
            size = op
        else:
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[op]
            if i + width > n:
                raise ScriptError("push length runs past the end of the script")
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        if i + size > n:
            raise ScriptError("push data runs past the end of the script")
        yield op, script[i : i + size]
        i += size


def script_num_decode(data: bytes) -> int:
    """Decode CScriptNum's little-endian sign-magnitude encoding."""
    if not data:
        return 0
    value = int.from_bytes(data, "little")
    if data[-1] & 0x80:
        return -(value & ~(0x80 << (8 * (len(data) - 1))))
    return value


def script_num_encode(value: int) -> bytes:
    """CScriptNum serialisation of an integer (minimal, sign-magnitude)."""
    if value == 0:
        return b""
    negative = value < 0
    magnitude = abs(value)
    out = bytearray()
    while magnitude:
        out.append(magnitude & 0xFF)
        magnitude >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if negative else 0x00)
    elif negative:
        out[-1] |= 0x80
    return bytes(out)


def push_data(data: bytes) -> bytes:
    """The shortest push of `data` (as CScript << vector)."""
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes((n,)) + data
    if n <= 0xFF:
        return bytes((OP_PUSHDATA1, n)) + data
    if n <= 0xFFFF:
        return bytes((OP_PUSHDATA2,)) + n.to_bytes(2, "little") + data
    return bytes((OP_PUSHDATA4,)) + n.to_bytes(4, "little") + data


def push_int(value: int) -> bytes:
    """Push a number as CScript << int64 does (OP_0, OP_1..OP_16, OP_1NEGATE, else data)."""
    if value == 0:
        return bytes((OP_0,))
    if value == -1 or 1 <= value <= 16:
        return bytes((value + (OP_1 - 1),))
    return push_data(script_num_encode(value))


def is_valid_signature_encoding(sig: bytes) -> bool:
    """BIP66 strict DER check of a signature including its trailing sighash byte."""
    if len(sig) < 9 or len(sig) > 73 or sig[0] != 0x30 or sig[1] != len(sig) - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= len(sig):
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != len(sig) or sig[2] != 0x02 or len_r == 0 or sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    if sig[len_r + 4] != 0x02 or len_s == 0 or sig[len_r + 6] & 0x80:
        return False
    return not (len_s > 1 and sig[len_r + 6] == 0 and not sig[len_r + 7] & 0x80)


def _looks_like_signature(data: bytes) -> bool:
    # fluxd: CheckSignatureEncoding with STRICTENC — DER plus a defined hash type
    if not data:
        return True
    return is_valid_signature_encoding(data) and (data[-1] & ~SIGHASH_ANYONECANPAY) in (1, 2, 3)


def is_unspendable(script: bytes) -> bool:
    return (len(script) > 0 and script[0] == OP_RETURN) or len(script) > MAX_SCRIPT_SIZE


def to_asm(script: bytes, attempt_sighash_decode: bool = False) -> str:
    """fluxd's ScriptToAsmStr (sighash decoding only for scriptSigs)."""
    words: list[str] = []
    decode = attempt_sighash_decode and not is_unspendable(script)
    try:
        for op, data in iter_ops(script):
            if data is None:
                words.append(opcode_name(op))
            elif len(data) <= 4:
                words.append(str(script_num_decode(data)))
            elif decode and _looks_like_signature(data) and data[-1] in SIGHASH_NAMES:
                words.append(data[:-1].hex() + f"[{SIGHASH_NAMES[data[-1]]}]")
            else:
                words.append(data.hex())
    except ScriptError:
        words.append("[error]")
    return " ".join(words)


# ---------------------------------------------------------------- standard templates


def p2pkh_script(h160: bytes) -> bytes:
    return b"\x76\xa9\x14" + h160 + b"\x88\xac"


def p2sh_script(h160: bytes) -> bytes:
    return b"\xa9\x14" + h160 + b"\x87"


def p2pk_script(pubkey: bytes) -> bytes:
    return push_data(pubkey) + bytes((OP_CHECKSIG,))


def multisig_script(required: int, pubkeys: list[bytes]) -> bytes:
    """m-of-n bare multisig (also the redeem script of a P2SH multisig address)."""
    if not 1 <= required <= len(pubkeys) <= 16:
        raise ValueError(
            f"multisig needs 1 <= required <= keys <= 16, got {required}-of-{len(pubkeys)}"
        )
    body = b"".join(push_data(k) for k in pubkeys)
    return push_int(required) + body + push_int(len(pubkeys)) + bytes((OP_CHECKMULTISIG,))


def nulldata_script(data: bytes) -> bytes:
    """OP_RETURN followed by one push of `data`."""
    return bytes((OP_RETURN,)) + push_data(data)


def is_p2sh(script: bytes) -> bool:
    return (
        len(script) == 23 and script[0] == OP_HASH160 and script[1] == 20 and script[22] == OP_EQUAL
    )


def is_p2pkh(script: bytes) -> bool:
    return (
        len(script) == 25
        and script[:3] == b"\x76\xa9\x14"
        and script[23] == OP_EQUALVERIFY
        and script[24] == OP_CHECKSIG
    )


@dataclass(frozen=True, slots=True)
class Solution:
    """What fluxd's Solver finds in a scriptPubKey."""

    type: str  # nonstandard, pubkey, pubkeyhash, scripthash, multisig, nulldata
    data: tuple[bytes, ...] = ()  # pubkeys / hashes
    required: int = 0


def _is_pubkey_size(data: bytes | None) -> bool:
    return data is not None and 33 <= len(data) <= 65


def solve(script: bytes) -> Solution:
    """Classify a scriptPubKey like fluxd's Solver."""
    if is_p2sh(script):
        return Solution("scripthash", (script[2:22],), 1)
    if is_p2pkh(script):
        return Solution("pubkeyhash", (script[3:23],), 1)
    try:
        ops = list(iter_ops(script))
    except ScriptError:
        return Solution("nonstandard")
    if len(ops) == 2 and _is_pubkey_size(ops[0][1]) and ops[1] == (OP_CHECKSIG, None):
        return Solution("pubkey", (ops[0][1] or b"",), 1)
    if ops and ops[0] == (OP_RETURN, None):
        if len(ops) == 1:
            return Solution("nulldata")
        if len(ops) == 2 and ops[1][1] is not None and len(ops[1][1]) <= MAX_OP_RETURN_RELAY:
            return Solution("nulldata")
        return Solution("nonstandard")
    multisig = _solve_multisig(ops)
    if multisig is not None:
        return multisig
    return Solution("nonstandard")


def _small_int(op: int, data: bytes | None) -> int | None:
    if op == OP_0:
        return 0
    if data is None and OP_1 <= op <= OP_16:
        return op - OP_1 + 1
    return None


def _solve_multisig(ops: list[tuple[int, bytes | None]]) -> Solution | None:
    if len(ops) < 4 or ops[-1] != (OP_CHECKMULTISIG, None):
        return None
    m = _small_int(*ops[0])
    n = _small_int(*ops[-2])
    keys = ops[1:-2]
    if m is None or n is None or not all(_is_pubkey_size(d) for _, d in keys):
        return None
    if m < 1 or n < 1 or m > n or len(keys) != n:
        return None
    return Solution("multisig", tuple(d or b"" for _, d in keys), m)


def script_addresses(script: bytes) -> tuple[Solution, list[str]]:
    """The solution and the t-addresses fluxd's ExtractDestinations reports (may be empty)."""
    sol = solve(script)
    if sol.type == "pubkeyhash":
        return sol, [address_from_hash(FLUX_P2PKH, sol.data[0])]
    if sol.type == "scripthash":
        return sol, [address_from_hash(FLUX_P2SH, sol.data[0])]
    if sol.type in ("pubkey", "multisig"):
        return sol, [address_from_hash(FLUX_P2PKH, hash160(k)) for k in sol.data]
    return sol, []


def script_address(script: bytes) -> str | None:
    """The single address a P2PKH/P2SH/P2PK output pays, else None (fluxd ExtractDestination)."""
    sol, addresses = script_addresses(script)
    if sol.type in ("pubkeyhash", "scripthash", "pubkey"):
        return addresses[0]
    return None


def script_for_address(address: str) -> bytes:
    """scriptPubKey paying a t1/t3 address; ValueError if it is not a mainnet Flux address."""
    kind, h160 = decode_flux_address(address)
    return p2pkh_script(h160) if kind == "p2pkh" else p2sh_script(h160)


def script_json(script: bytes, include_hex: bool = True) -> dict[str, object]:
    """fluxd's ScriptPubKeyToJSON."""
    out: dict[str, object] = {"asm": to_asm(script)}
    if include_hex:
        out["hex"] = script.hex()
    sol, addresses = script_addresses(script)
    if sol.type in ("nonstandard", "nulldata"):
        out["type"] = sol.type
        return out
    out["reqSigs"] = sol.required
    out["type"] = sol.type
    out["addresses"] = addresses
    return out
