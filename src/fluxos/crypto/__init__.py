"""Cryptographic primitives: hashes, base58check, secp256k1 keys, addresses, signed messages.

Pure functions over bytes and strings; nothing here does I/O or imports other fluxos packages.
"""

from fluxos.crypto.addresses import (
    BITCOIN_P2PKH,
    FLUX_P2PKH,
    FLUX_P2SH,
    FLUX_TESTNET_P2PKH,
    FLUX_TESTNET_P2SH,
    address_from_hash,
    bitcoin_address,
    decode_flux_address,
    flux_address,
    flux_p2sh_address,
    is_zelid,
)
from fluxos.crypto.base58check import b58check_decode, b58check_encode
from fluxos.crypto.ethereum import (
    eth_address,
    personal_message_bytes,
    personal_message_hash,
    recover_eth_address,
    sign_eth_message,
    to_checksum_address,
    verify_eth_message,
)
from fluxos.crypto.hashes import hash160, keccak256, sha256, sha256d
from fluxos.crypto.keys import PrivateKey, verify_der
from fluxos.crypto.signed_message import (
    BITCOIN_MAGIC,
    ZELCASH_MAGIC,
    message_digest,
    recover_message_key,
    sign_message,
    verify_bitcoin_message,
    verify_flux_message,
    verify_message,
)

__all__ = [
    "BITCOIN_MAGIC",
    "BITCOIN_P2PKH",
    "FLUX_P2PKH",
    "FLUX_P2SH",
    "FLUX_TESTNET_P2PKH",
    "FLUX_TESTNET_P2SH",
    "ZELCASH_MAGIC",
    "PrivateKey",
    "address_from_hash",
    "b58check_decode",
    "b58check_encode",
    "bitcoin_address",
    "decode_flux_address",
    "eth_address",
    "flux_address",
    "flux_p2sh_address",
    "hash160",
    "is_zelid",
    "keccak256",
    "message_digest",
    "personal_message_bytes",
    "personal_message_hash",
    "recover_eth_address",
    "recover_message_key",
    "sha256",
    "sha256d",
    "sign_eth_message",
    "sign_message",
    "to_checksum_address",
    "verify_bitcoin_message",
    "verify_der",
    "verify_eth_message",
    "verify_flux_message",
    "verify_message",
]
