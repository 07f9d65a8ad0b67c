"""Payments a wallet reports to the node (upstream's paymentService)."""
