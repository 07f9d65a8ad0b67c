"""Every area's schema, in the order they are migrated."""

from fluxos.storage import (
    apps,
    explorer,
    fluxshare,
    identity,
    localapps,
    nodestate,
    payments,
    tampering,
)
from fluxos.storage.schema import Area

ALL_AREAS: tuple[Area, ...] = (
    nodestate.AREA,
    identity.AREA,
    explorer.AREA,
    localapps.AREA,
    fluxshare.AREA,
    apps.AREA,
    payments.AREA,
    tampering.AREA,
)
