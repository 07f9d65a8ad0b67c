"""fluxd's wallet key RPCs: addresses, imports and dumps, message signing, multisig, rescans.

Export files (dumpwallet, backupwallet) go to the endpoint's `exports/` folder, which plays
fluxd's -exportdir; importwallet reads fluxd's dump format back.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from fluxos.chain.outpoint import hash_hex
from fluxos.chain.script import script_addresses
from fluxos.crypto.addresses import decode_flux_address, flux_address
from fluxos.crypto.keys import PrivateKey
from fluxos.crypto.signed_message import ZELCASH_MAGIC, sign_message
from fluxos.devnet.indexes import address_to_key, key_address
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_TYPE_ERROR,
    RPC_WALLET_ERROR,
    account_param,
    get_bool,
    get_int,
    get_str,
    is_hex,
)
from fluxos.devnet.rpc.utilities import multisig_redeem_script
from fluxos.jsonrpc import RpcError

_UNSAFE = re.compile(r"[^A-Za-z0-9]")


def _dump_time(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class WalletKeysRpc:
    """Keys in and out of an endpoint's wallet."""

    category = "Wallet"
    commands = (
        "addmultisigaddress", "backupwallet", "dumpprivkey", "dumpwallet", "getnewaddress",
        "getrawchangeaddress", "importaddress", "importprivkey", "importwallet", "keypoolrefill",
        "rescanblockchain", "signmessage",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    @property
    def export_dir(self) -> Path:
        return self.ctx.endpoint.data_dir / "exports"

    def getnewaddress(self, account: Any = "") -> str:
        """getnewaddress ( "account" )

        Returns a new Flux address for receiving payments."""
        account_param(account)
        return self.ctx.wallet.new_key().address

    def getrawchangeaddress(self) -> str:
        """getrawchangeaddress

        Returns a new Flux address, for receiving change (for raw transactions)."""
        return self.ctx.wallet.new_key(change=True).address

    def keypoolrefill(self, newsize: Any = 100) -> None:
        """keypoolrefill ( newsize )

        Fills the keypool."""
        size = get_int(newsize)
        if size < 0:
            raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, expected valid size.")
        self.ctx.wallet.refill_keypool(size or 100)
        return None

    def dumpprivkey(self, address: Any) -> str:
        """dumpprivkey "t-addr"

        Reveals the private key corresponding to 't-addr'."""
        text = get_str(address)
        try:
            kind, h160 = decode_flux_address(text)
        except ValueError as exc:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid Flux address") from exc
        if kind != "p2pkh":
            raise RpcError(RPC_TYPE_ERROR, "Address does not refer to a key")
        key = self.ctx.wallet.key_for_hash(h160)
        if key is None:
            raise RpcError(RPC_WALLET_ERROR, f"Private key for address {text} is not known")
        return key.to_wif()

    def importprivkey(self, wif: Any, label: Any = "", rescan: Any = True) -> None:
        """importprivkey "fluxprivkey" ( "label" rescan )

        Adds a private key (as returned by dumpprivkey) to your wallet."""
        text, name, scan = get_str(wif), get_str(label), get_bool(rescan)
        try:
            key = PrivateKey.from_wif(text)
        except ValueError as exc:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid private key encoding") from exc
        wallet = self.ctx.wallet
        entry = wallet.add_key(key, name)
        if scan:
            wallet.rescan([entry.akey])
        return None

    def importaddress(
        self, script: Any, label: Any = "", rescan: Any = True, p2sh: Any = False
    ) -> None:
        """importaddress "address" ( "label" rescan p2sh )

        Adds an address or script (in hex) that can be watched as if it were in your wallet."""
        text, name, scan, as_p2sh = (
            get_str(script),
            get_str(label),
            get_bool(rescan),
            get_bool(p2sh),
        )
        wallet = self.ctx.wallet
        try:
            akey = address_to_key(text)
        except ValueError:
            if not is_hex(text):
                raise RpcError(
                    RPC_INVALID_ADDRESS_OR_KEY, "Invalid Flux address or script"
                ) from None
            raw = bytes.fromhex(text)
            if as_p2sh:
                akey = wallet.add_script(raw, name)
            else:
                sol, addresses = script_addresses(raw)
                if sol.type not in ("pubkeyhash", "scripthash"):
                    raise RpcError(
                        RPC_WALLET_ERROR,
                        "Only P2PKH and P2SH scripts can be watched on the devnet "
                        "(its index keys addresses)",
                    ) from None
                akey = address_to_key(addresses[0])
        if wallet.is_mine(akey) == "spendable":
            raise RpcError(
                RPC_WALLET_ERROR,
                "The wallet already contains the private key for this address or script",
            )
        wallet.add_watch(akey, name)
        if scan:
            wallet.rescan([akey])
        return None

    def addmultisigaddress(self, required: Any, keys: Any, account: Any = "") -> str:
        """addmultisigaddress nrequired ["key",...] ( "account" )

        Add a nrequired-to-sign multisignature address to the wallet."""
        account_param(account)
        script = multisig_redeem_script(required, keys, self.ctx.wallet)
        akey = self.ctx.wallet.add_script(script)
        self.ctx.wallet.rescan([akey])
        return key_address(akey)

    def signmessage(self, address: Any, message: Any) -> str:
        """signmessage "t-addr" "message"

        Sign a message with the private key of a t-addr (fluxd's message magic)."""
        text, msg = get_str(address), get_str(message)
        try:
            kind, h160 = decode_flux_address(text)
        except ValueError as exc:
            raise RpcError(RPC_TYPE_ERROR, "Invalid address") from exc
        if kind != "p2pkh":
            raise RpcError(RPC_TYPE_ERROR, "Address does not refer to key")
        key = self.ctx.wallet.key_for_hash(h160)
        if key is None:
            raise RpcError(RPC_WALLET_ERROR, "Private key not available")
        return sign_message(msg, key, ZELCASH_MAGIC)

    def rescanblockchain(self, start_height: Any = 0) -> str:
        """rescanblockchain ( start_height )

        Rescan the chain for wallet transactions."""
        height = get_int(start_height)
        chain = self.ctx.chain
        if height < 0 or height > chain.height or (height and height < chain.start_height):
            raise RpcError(RPC_INVALID_PARAMETER, "Block height out of range")
        self.ctx.wallet.rescan()
        return "Rescan Completed"

    # ------------------------------------------------------------------ files
    def _export_path(self, name: str) -> Path:
        clean = _UNSAFE.sub("", name)
        if clean != name:
            raise RpcError(
                RPC_WALLET_ERROR,
                "Filename is invalid as only alphanumeric characters are allowed.  "
                f"Try '{clean}' instead.",
            )
        self.export_dir.mkdir(parents=True, exist_ok=True)
        return self.export_dir / clean

    def _dump_text(self) -> str:
        wallet = self.ctx.wallet
        chain = self.ctx.chain
        tip = chain.tip
        lines = [
            "# Wallet dump created by Flux devnet (fluxos)",
            f"# * Created on {_dump_time(int(self.ctx.engine.clock.time()))}",
            f"# * Best block at time of backup was {chain.height} "
            f"({hash_hex(tip.hash) if tip else ''}),",
            f"#   mined on {_dump_time(tip.time if tip else 0)}",
            "",
        ]
        for akey, wk in wallet.keys.items():
            when = _dump_time(wk.created)
            tag = "change=1" if wk.change else f"label={wk.label}"
            lines.append(f"{wk.key.to_wif()} {when} {tag} # addr={key_address(akey)}")
        for _seq, key in wallet.pool:
            lines.append(
                f"{key.to_wif()} {_dump_time(0)} reserve=1 # addr={flux_address(key.public_key)}"
            )
        lines += ["", "# End of dump", ""]
        return "\n".join(lines)

    def dumpwallet(self, filename: Any) -> str:
        """dumpwallet "filename"

        Dumps taddr wallet keys in a human-readable format into the export folder."""
        path = self._export_path(get_str(filename))
        if path.exists():
            raise RpcError(RPC_INVALID_PARAMETER, f"Cannot overwrite existing file {path}")
        path.write_text(self._dump_text(), encoding="utf-8")
        path.chmod(0o600)
        return str(path)

    def backupwallet(self, destination: Any) -> str:
        """backupwallet "destination"

        Safely copies the wallet (its keys, in dump format) into the export folder."""
        path = self._export_path(get_str(destination))
        path.write_text(self._dump_text(), encoding="utf-8")
        path.chmod(0o600)
        return str(path)

    def importwallet(self, filename: Any) -> None:
        """importwallet "filename"

        Imports taddr keys from a wallet dump file (see dumpwallet)."""
        text = get_str(filename)
        path = Path(text) if Path(text).is_absolute() else self.export_dir / text
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RpcError(RPC_INVALID_PARAMETER, "Cannot open wallet dump file") from exc
        wallet = self.ctx.wallet
        imported = []
        failed = False
        for line in content.splitlines():
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            try:
                key = PrivateKey.from_wif(parts[0])
            except ValueError:
                failed = True
                continue
            label = ""
            change = False
            for part in parts[2:]:
                if part.startswith("#"):
                    break
                if part.startswith("label="):
                    label = part[len("label=") :]
                change = change or part == "change=1"
            imported.append(wallet.add_key(key, label, change).akey)
        wallet.rescan(imported)
        if failed:
            raise RpcError(RPC_WALLET_ERROR, "Error adding some keys to wallet")
        return None
