"""Identity: ZelID login phrases, sessions and the privilege levels of the Flux API.

Other areas use `IdentityAuthorizer` (through `node.authorizer`) to decide permission
levels, `Credentials`/`parse_zelidauth` to read a caller's header, and implement
`AppOwners` (the apps registry) or a gate source (`gates`) to plug into identity.
"""

from fluxos.identity.credentials import Credentials, credentials_from, parse_zelidauth
from fluxos.identity.gates import LoginGates
from fluxos.identity.privileges import (
    AppOwners,
    IdentityAuthorizer,
    NoAppOwners,
    PrivilegedIds,
    app_of,
)
from fluxos.identity.service import IdentityService, Login

__all__ = [
    "AppOwners",
    "Credentials",
    "IdentityAuthorizer",
    "IdentityService",
    "Login",
    "LoginGates",
    "NoAppOwners",
    "PrivilegedIds",
    "app_of",
    "credentials_from",
    "parse_zelidauth",
]
