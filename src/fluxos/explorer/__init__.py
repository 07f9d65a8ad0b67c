"""The block explorer: scanner, indexes, app payments, chain messages, queries, events."""
