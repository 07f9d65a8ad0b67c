"""Flux chain primitives, pure and I/O-free: transaction and block codec, scripts and their
interpreter, ZIP-243 signature hashing, merkle proofs, amounts, consensus numbers, flux.conf."""
