"""FluxOS node software for the Flux decentralized cloud."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fluxos")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

# Peers refuse nodes that report a FluxOS version below 8.13.1 (minimumFluxOSAllowedVersion),
# so /flux/version reports the upstream release whose behaviour this package follows.
FLUXOS_COMPAT_VERSION = "8.17.0"
