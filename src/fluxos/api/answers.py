"""JSON answers with the HTTP habits Flux's clients rely on: ETag, If-None-Match → 304,
Cache-Control on cached routes, gzip for large answers when asked, HEAD without a body.

Load balancers fetch the big app lists with HEAD then GET and compare ETags; Express sends
a weak ETag on every answer, and upstream's apicache sends `Cache-Control: max-age=N` on
the routes it caches. A rendered answer keeps its ETag and its gzip form, so a cached one
is hashed and compressed once, not per request.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from fluxos.blocking import BlockingRunner

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
GZIP_MIN_BYTES = 1400
"""Answers smaller than one packet are not worth compressing."""
GZIP_IN_THREAD_BYTES = 256 * 1024
GZIP_LEVEL = 6


@dataclass
class Rendered:
    """One rendered JSON answer, with its ETag and gzip form computed at most once."""

    content: bytes
    _etag: str | None = field(default=None, repr=False)
    _gzipped: bytes | None = field(default=None, repr=False)

    @property
    def etag(self) -> str:
        if self._etag is None:
            digest = hashlib.blake2b(self.content, digest_size=12).hexdigest()
            self._etag = f'W/"{len(self.content):x}-{digest}"'
        return self._etag

    async def gzipped(self, runner: BlockingRunner | None) -> bytes:
        if self._gzipped is None:
            if runner is not None and len(self.content) > GZIP_IN_THREAD_BYTES:
                # zlib releases the GIL: large answers compress beside the event loop
                self._gzipped = await runner.run(gzip.compress, self.content, GZIP_LEVEL)
            else:
                self._gzipped = gzip.compress(self.content, GZIP_LEVEL)
        return self._gzipped


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == weak for tag in if_none_match.split(","))


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, quality = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            return quality.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def json_answer(
    rendered: Rendered,
    request: Request,
    *,
    max_age: int | None = None,
    private: bool = False,
    runner: BlockingRunner | None = None,
) -> Response:
    """The response for `rendered` to this request (GET and HEAD get the HTTP habits)."""
    if request.method not in ("GET", "HEAD"):
        return Response(rendered.content, media_type=JSON_MEDIA_TYPE)
    headers = {"etag": rendered.etag}
    if max_age is not None:
        headers["cache-control"] = f"{'private' if private else 'public'}, max-age={max_age}"
        if private:
            headers["vary"] = "zelidauth"
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, rendered.etag):
        return Response(status_code=304, headers=headers)
    content = rendered.content
    if len(content) >= GZIP_MIN_BYTES:
        headers["vary"] = "accept-encoding" + (", zelidauth" if private else "")
        if _accepts_gzip(request):
            content = await rendered.gzipped(runner)
            headers["content-encoding"] = "gzip"
    return Response(content, media_type=JSON_MEDIA_TYPE, headers=headers)
