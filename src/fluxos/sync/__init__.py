"""Syncthing: the managed process, its REST client, the `/syncthing/*` proxy table, the
app folders and the primary/standby rules (files-and-sync.md §1)."""
