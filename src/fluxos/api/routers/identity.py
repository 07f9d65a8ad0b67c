"""The "ID" section: ZelID login and sessions (`/id/*`, deprecated `/zelid/*` aliases), and
the `/ws/id/:loginphrase` and `/ws/sign/:message` websockets (identity.md §2–§6, §10, §11).

Answers keep upstream's wire form byte for byte (`fluxos.identity.views`), and websocket
frames are query-string (`qs`) encoded, as the Flux UI parses them with `qs.parse`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from fluxos.api.envelope import Message, warning
from fluxos.api.routing import Call, FluxRouter
from fluxos.errors import Unauthorized
from fluxos.identity import Credentials, IdentityService, parse_zelidauth
from fluxos.identity.service import NO_LONGER_VALID, WaitLookupFailed
from fluxos.wire.bodies import stringify_qs
from fluxos.wire.permissions import Permission

log = logging.getLogger(__name__)
router = FluxRouter("ID", lambda node: node.identity)
Identity = Call[IdentityService]
T = TypeVar("T")

# Websocket close codes (identity.md §5, §11); they reuse the p2p CLOSE_CODES numbers.
CLOSE_SESSION_LOOKUP_FAILED = 4011
CLOSE_LOGGED_IN = 4012
CLOSE_PHRASE_LOOKUP_FAILED = 4013
CLOSE_SIGNATURE_LOOKUP_FAILED = 4014
CLOSE_SIGNATURE_DELIVERED = 4015
# Upstream closes without a code (the client sees 1005); ASGI always sends one.
CLOSE_NORMAL = 1000
SIGNATURE_WAIT_EXPIRED = "No signature was provided for this message within 15 minutes"


def _caller(call: Identity) -> Credentials:
    credentials = parse_zelidauth(call.zelidauth)
    if credentials is None:  # the permission check passed, so this cannot happen
        raise Unauthorized()
    return credentials


# -- phrases and login --------------------------------------------------------------------
@router.get("/id/loginphrase")
@router.get("/zelid/loginphrase")
async def login_phrase(call: Identity) -> str:
    """A new login phrase (13-digit timestamp + 43 random characters), valid 15 minutes."""
    return await call.service.login_phrase()


@router.get("/id/emergencyphrase")
@router.get("/zelid/emergencyphrase")
async def emergency_phrase(call: Identity) -> str:
    """A new login phrase without the node-health checks."""
    return await call.service.emergency_phrase()


@router.post("/id/verifylogin")
@router.post("/zelid/verifylogin")
async def verify_login(call: Identity) -> dict[str, Any]:
    """Log in with a signed phrase: body {zelid, loginPhrase, signature} (JSON or qs)."""
    return await call.service.verify_login_view(call.object_body())


@router.post("/id/providesign")
@router.post("/zelid/providesign")
async def provide_sign(call: Identity) -> dict[str, Any]:
    """Park a signature for a browser waiting on /ws/sign: body {address, message, signature}."""
    return await call.service.provide_sign_view(call.object_body())


# The table lists admin,fluxteam,user, but upstream serves it to anyone: the credentials
# to judge come in the body, and "none" is itself an answer. A header would be beside
# the point, so the route is public.
@router.post("/id/checkprivilege", permission=Permission.PUBLIC)
@router.post("/zelid/checkprivilege", permission=Permission.PUBLIC)
async def check_privilege(call: Identity) -> Message:
    """Which of admin, fluxteam, user the body's {zelid, loginPhrase, signature} hold."""
    level = await call.service.check_privilege(call.object_body())
    return Message(level) if level is not None else Message("none", status="error")


# -- the caller's sessions ----------------------------------------------------------------
# Upstream caches these three for 30 s by URL, so callers saw each other's sessions and a
# repeated logout did nothing; the API edge never caches routes above public.
@router.get("/id/loggedsessions")
@router.get("/zelid/loggedsessions")
async def logged_sessions(call: Identity) -> list[dict[str, Any]]:
    """The caller's live sessions."""
    return await call.service.sessions_view(_caller(call))


@router.get("/id/logoutcurrentsession")
@router.get("/zelid/logoutcurrentsession")
async def logout_current_session(call: Identity) -> Message:
    """End the session of the caller's header."""
    await call.service.logout_current(_caller(call))
    return Message("Successfully logged out")


@router.get("/id/logoutallsessions")
@router.get("/zelid/logoutallsessions")
async def logout_all_sessions(call: Identity) -> Message:
    """End every session of the caller's zelid."""
    await call.service.logout_all(_caller(call))
    return Message("Successfully logged out all sessions")


@router.post("/id/logoutspecificsession")
@router.post("/zelid/logoutspecificsession")
async def logout_specific_session(call: Identity) -> Message:
    """End the session whose phrase is in the body {loginPhrase} (knowing it is the right)."""
    body = call.object_body()
    if await call.service.logout_phrase(body.get("loginPhrase")):
        return Message("Session successfully logged out")
    # Upstream crashes here with a TypeError; the intended answer is this warning.
    return warning("Specified user was already logged out")


# -- the node owner's view ----------------------------------------------------------------
@router.get("/id/loggedusers")
@router.get("/zelid/loggedusers")
async def logged_users(call: Identity) -> list[dict[str, Any]]:
    """Every live session on this node."""
    return await call.service.all_sessions_view()


@router.get("/id/activeloginphrases")
@router.get("/zelid/activeloginphrases")
async def active_login_phrases(call: Identity) -> list[dict[str, Any]]:
    """Phrases issued in the last 15 minutes and not used yet."""
    return await call.service.active_phrases_view()


@router.get("/id/logoutallusers")
@router.get("/zelid/logoutallusers")
async def logout_all_users(call: Identity) -> Message:
    """End every session on this node, the owner's included."""
    await call.service.logout_everyone()
    return Message("Successfully logged out all users")


# -- websockets ---------------------------------------------------------------------------
@router.websocket("/ws/id/:loginphrase")
async def login_notification(websocket: WebSocket, service: IdentityService) -> None:
    """Tell a waiting browser when its phrase gets logged in (from another device)."""
    phrase = websocket.path_params["loginphrase"]
    await websocket.accept()
    try:
        found = await _unless_disconnected(websocket, service.await_login_view(phrase))
    except WaitLookupFailed as error:
        failed_session = error.stage == "session"
        code = CLOSE_SESSION_LOOKUP_FAILED if failed_session else CLOSE_PHRASE_LOOKUP_FAILED
        log.error("/ws/id: %s lookup failed: %s", error.stage, error.message)
        await _finish(websocket, _error_frame(error.to_data()), code)
        return
    if found is _DISCONNECTED:
        return
    if found is None:
        await _finish(websocket, _error_frame({"message": NO_LONGER_VALID}), CLOSE_NORMAL)
        return
    assert isinstance(found, dict)
    await _finish(websocket, stringify_qs({"status": "success", "data": found}), CLOSE_LOGGED_IN)


@router.websocket("/ws/sign/:message")
async def signature_delivery(websocket: WebSocket, service: IdentityService) -> None:
    """Hand a browser the signature another device parked with /id/providesign."""
    identifier = websocket.path_params["message"]
    await websocket.accept()
    try:
        found = await _unless_disconnected(websocket, service.await_signature_view(identifier))
    except WaitLookupFailed as error:
        log.error("/ws/sign: signature lookup failed: %s", error.message)
        await _finish(websocket, _error_frame(error.to_data()), CLOSE_SIGNATURE_LOOKUP_FAILED)
        return
    if found is _DISCONNECTED:
        return
    if found is None:
        await _finish(websocket, _error_frame({"message": SIGNATURE_WAIT_EXPIRED}), CLOSE_NORMAL)
        return
    assert isinstance(found, dict)
    await _finish(
        websocket, stringify_qs({"status": "success", "data": found}), CLOSE_SIGNATURE_DELIVERED
    )


_DISCONNECTED = object()


async def _unless_disconnected(websocket: WebSocket, waiting: Awaitable[T]) -> T | object:
    """The result of `waiting`, or `_DISCONNECTED` if the client goes away first."""
    wait_task = asyncio.ensure_future(waiting)
    gone_task = asyncio.ensure_future(_disconnection(websocket))
    try:
        done, _ = await asyncio.wait({wait_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
        if wait_task in done:
            return wait_task.result()
        return _DISCONNECTED
    finally:
        for task in (wait_task, gone_task):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _disconnection(websocket: WebSocket) -> None:
    """Returns when the client disconnects; what it sends meanwhile is ignored."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _finish(websocket: WebSocket, frame: str, code: int) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_text(frame)
        await websocket.close(code)


# -- frames ------------------------------------------------------------------------------
def _error_frame(data: dict[str, Any]) -> str:
    return stringify_qs({"status": "error", "data": data})
