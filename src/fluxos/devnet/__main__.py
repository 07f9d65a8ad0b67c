"""`python -m fluxos.devnet`: the same options as `fluxos devnet`."""

from __future__ import annotations

import argparse
from pathlib import Path

from fluxos.devnet.command import run_devnet
from fluxos.devnet.server import DEFAULT_START_HEIGHT
from fluxos.errors import ConfigError


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--block-time must be positive, got {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fluxos.devnet", description="A local Flux chain speaking fluxd's JSON-RPC."
    )
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".fluxos" / "devnet")
    parser.add_argument(
        "--rpc-port", type=int, default=16124, help="first RPC port (0: any free ports)"
    )
    parser.add_argument("--nodes", type=int, default=1, help="number of simulated fluxd endpoints")
    parser.add_argument("--start-height", type=int, default=DEFAULT_START_HEIGHT)
    parser.add_argument(
        "--block-time", type=_positive_float, default=None, help="mine a block every S seconds"
    )
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error(f"--nodes must be at least 1, got {args.nodes}")
    if args.start_height < 1:
        parser.error(f"--start-height must be at least 1, got {args.start_height}")
    try:
        run_devnet(args.data_dir, args.rpc_port, args.nodes, args.start_height, args.block_time)
    except ConfigError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


if __name__ == "__main__":
    main()
