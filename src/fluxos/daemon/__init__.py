"""fluxd and the benchmark daemon: the node's RPC clients to them, the embedded devnet and
bench it runs when no fluxd is configured, their controls, logs and stored benchmark."""
