"""`python -m fluxos.apps`: the `fluxos apps` commands on their own."""

from fluxos.apps.command import main

main()
