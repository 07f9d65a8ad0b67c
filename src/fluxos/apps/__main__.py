"""`python -m fluxos.apps`: the `fluxos apps` commands on their own."""

from fluxos.apps import deploy as _deploy  # noqa: F401  (registers deploy/status)
from fluxos.apps.command import main

main()
