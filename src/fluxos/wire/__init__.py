"""What the API edge and identity both speak: permission levels, request bodies and
query strings as FluxOS clients send them, and the JavaScript-compatible serialiser.

Nothing here imports another fluxos package, so every area may depend on it.
"""
