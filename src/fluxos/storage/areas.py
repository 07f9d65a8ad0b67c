"""Every area's schema, in the order they are migrated."""

from fluxos.storage import nodestate
from fluxos.storage.schema import Area

ALL_AREAS: tuple[Area, ...] = (nodestate.AREA,)
