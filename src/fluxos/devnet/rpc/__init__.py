"""fluxd's JSON-RPC method groups served by each devnet endpoint."""
