"""Flux mainnet consensus numbers the devnet reuses (daemon.md §7), and the block reward.

The devnet keeps mainnet address prefixes, message magic, collateral amounts and reward
schedule, so every height-gated FluxOS rule behaves as on mainnet at the same height.
"""

from __future__ import annotations

from fluxos.chain.amounts import COIN

# What `getblockchaininfo.chain` answers: the devnet is a local regtest-like chain (with
# mainnet prefixes), and saying so lets a node tell it from a real fluxnode.
NETWORK = "regtest"
SAPLING_BRANCH_ID = 0x76B809BB
PROTOCOL_VERSION = 170021
CLIENT_VERSION = 9_000_650  # fluxd 9.0.6 as getinfo reports it
SUBVERSION = "/MagicBean:9.0.6/"

COINBASE_MATURITY = 100
DEFAULT_TX_EXPIRY_DELTA = 20
TX_EXPIRING_SOON_THRESHOLD = 3
TX_EXPIRY_HEIGHT_THRESHOLD = 500_000_000
MAX_BLOCK_SIZE = 2_000_000
MIN_RELAY_FEE_PER_KB = 100  # zatoshis, fluxd's DEFAULT_MIN_RELAY_TX_FEE
POW_LIMIT_BITS = 0x1F07FFFF  # mainnet powLimit 0007ffff… in compact form
EMPTY_SAPLING_ROOT = bytes.fromhex(
    "fbc2f4300c01f0b7820d00e3347c8da4ee614674376cbc45359daa54f9b5493e"
)  # root of the empty Sapling note commitment tree (internal byte order)

# upgrade heights (mainnet)
FLUXNODE_PAYMENTS_START = 560_000
FLUX_REBRAND_HEIGHT = 835_554
PON_ACTIVATION_HEIGHT = 2_020_000

# reward schedule
SUBSIDY_SLOW_START_INTERVAL = 5_000
SUBSIDY_HALVING_INTERVAL = 655_350
PON_INITIAL_SUBSIDY = 14 * COIN
PON_REDUCTION_INTERVAL = 1_051_200
PON_MAX_REDUCTIONS = 20
DEV_FUND_ADDRESS = "t3hPu1YDeGUCp8m7BQCnnNUmRMJBa5RadyA"

# fluxnodes (V2 collateral, PON-era timings)
CUMULUS, NIMBUS, STRATUS = 1, 2, 3
TIERS = (CUMULUS, NIMBUS, STRATUS)
COLLATERAL = {CUMULUS: 1_000 * COIN, NIMBUS: 12_500 * COIN, STRATUS: 40_000 * COIN}
TIER_OF_COLLATERAL = {amount: tier for tier, amount in COLLATERAL.items()}
FLUXNODE_MIN_CONFIRMATION = 100  # collateral depth before a start tx is accepted
START_TX_EXPIRATION = 240
DOS_REMOVE_AMOUNT = 720
CONFIRM_UPDATE_EXPIRATION = 640
CONFIRM_UPDATE_MIN_HEIGHT = 500
CONFIRM_UPDATE_MIN_HEIGHT_IP_CHANGE = 5
MAX_IP_LENGTH = 60
FLUXNODE_MAX_SIG_TIME = 3600
_PRE_PON_TIER_PERCENT = {CUMULUS: 0.0375, NIMBUS: 0.0625, STRATUS: 0.15}
_PON_TIER_SHARE = {CUMULUS: 10, NIMBUS: 35, STRATUS: 90}  # tenths of a FLUX out of 140


def is_pon(height: int) -> bool:
    return height >= PON_ACTIVATION_HEIGHT


def block_subsidy(height: int) -> int:
    """fluxd's GetBlockSubsidy in satoshis."""
    if is_pon(height):
        subsidy = PON_INITIAL_SUBSIDY
        years = (height - PON_ACTIVATION_HEIGHT) // PON_REDUCTION_INTERVAL
        for _ in range(min(years, PON_MAX_REDUCTIONS)):
            subsidy = subsidy * 9 // 10
        return subsidy
    subsidy = 150 * COIN
    if height == 1:
        return 13_020_000 * COIN
    if height < SUBSIDY_SLOW_START_INTERVAL // 2:
        return subsidy // SUBSIDY_SLOW_START_INTERVAL * height
    if height < SUBSIDY_SLOW_START_INTERVAL:
        return subsidy // SUBSIDY_SLOW_START_INTERVAL * (height + 1)
    halvings = (height - SUBSIDY_SLOW_START_INTERVAL // 2) // SUBSIDY_HALVING_INTERVAL
    # fluxd caps the schedule at two halvings "temporarily"
    return subsidy >> min(halvings, 2)


def fluxnode_subsidy(height: int, tier: int) -> int:
    """What the next payee of `tier` receives at `height` (fluxd's GetFluxnodeSubsidy)."""
    if height < FLUXNODE_PAYMENTS_START:
        return 0
    value = block_subsidy(height)
    if is_pon(height):
        return value * _PON_TIER_SHARE[tier] // 140
    multiple = 2.0 if height >= FLUX_REBRAND_HEIGHT else 1.0
    # fluxd multiplies by a double and truncates to an integer amount
    return int(value * (_PRE_PON_TIER_PERCENT[tier] * multiple))


def dev_fund_amount(height: int) -> int:
    """The minimum the dev fund must receive under PON (subsidy minus the three tiers)."""
    if not is_pon(height):
        return 0
    value = block_subsidy(height)
    return value - sum(value * share // 140 for share in _PON_TIER_SHARE.values())
