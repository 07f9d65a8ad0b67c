"""The one TLS context every outgoing HTTP client of the node shares.

httpx builds a fresh context per client by default, and loading the system's CA bundle
costs ~50 ms each time; the node has several clients, all made at start.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def client_context() -> ssl.SSLContext:
    """A default, verifying client context over the system's certificate store."""
    return ssl.create_default_context()
