"""FluxOS node software for the Flux decentralized cloud."""

# The package version (pyproject reads it from here; a metadata lookup at import would cost
# ~50 ms of every start).
__version__ = "0.1.0"

# Peers refuse nodes that report a FluxOS version below 8.13.1 (minimumFluxOSAllowedVersion),
# so /flux/version reports the upstream release whose behaviour this package follows.
FLUXOS_COMPAT_VERSION = "8.17.0"
