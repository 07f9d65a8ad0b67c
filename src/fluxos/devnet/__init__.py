"""The devnet: a local Flux chain that speaks fluxd's JSON-RPC (see `Devnet`, `run_devnet`)."""
