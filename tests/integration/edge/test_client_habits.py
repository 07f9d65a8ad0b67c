"""The habits of Flux's real clients, through HTTP against started nodes: Express's
case-insensitive routes, bodies in any content type, `zelidauth` in both forms, HEAD,
ETag/If-None-Match, Cache-Control and gzip on cached routes, 503 while fluxd is away."""

from __future__ import annotations

import gzip
import json
import urllib.parse

import httpx

from tests.integration.conftest import DaemonStack
from tests.integration.edge.conftest import EdgeNode
from tests.support.daemons import Admin


def test_routes_match_without_regard_to_case(daemon_stack: DaemonStack) -> None:
    node = daemon_stack.node
    version = node.get("/Flux/Version").json()
    assert version == node.get("/flux/version").json()
    assert version["status"] == "success"
    count = node.get("/daemon/getBlockCount").json()
    assert count["status"] == "success" and isinstance(count["data"], int)
    block_hash = node.get(f"/Daemon/GetBlockHash/{count['data']}").json()["data"]
    assert node.get(f"/DAEMON/getblockheader/{block_hash}").json()["data"]["hash"] == block_hash


def test_post_bodies_in_any_content_type(daemon_stack: DaemonStack) -> None:
    node = daemon_stack.node
    as_object = json.loads(daemon_stack.admin_headers["zelidauth"])  # zelid, signature, phrase
    forms = {
        "application/json": json.dumps(as_object),
        "text/plain": json.dumps(as_object),
        "application/x-www-form-urlencoded": urllib.parse.urlencode(as_object),
        "application/octet-stream": urllib.parse.urlencode(as_object),
    }
    answers = [
        node.post("/id/checkprivilege", content=body, headers={"content-type": kind}).json()
        for kind, body in forms.items()
    ]
    answers.append(node.post("/id/checkprivilege", content=json.dumps(as_object)).json())
    assert answers[0] == {"status": "success", "data": {"message": "admin"}}
    assert all(answer == answers[0] for answer in answers), answers


def test_zelidauth_as_query_string_or_json(daemon_stack: DaemonStack) -> None:
    node = daemon_stack.node
    as_json = daemon_stack.admin_headers["zelidauth"]
    fields = json.loads(as_json)
    as_qs = urllib.parse.urlencode(fields)
    for header in (as_json, as_qs):
        reply = node.get("/id/loggedusers", headers={"zelidauth": header}).json()
        assert reply["status"] == "success", reply
    refused = node.get("/id/loggedusers", headers={"zelidauth": "zelid=1abc"}).json()
    assert refused["data"]["code"] == 401


def test_cached_routes_answer_head_etag_304_and_gzip(daemon_stack: DaemonStack) -> None:
    node = daemon_stack.node
    head = httpx.head(node.url + "/daemon/help", headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["cache-control"] == "public, max-age=3600"
    etag = head.headers["etag"]
    full = node.get("/daemon/help", headers={"accept-encoding": "identity"})
    assert full.headers["etag"] == etag
    assert int(head.headers["content-length"]) == len(full.content)
    assert full.json()["status"] == "success" and len(full.content) > 1400
    not_modified = node.get("/daemon/help", headers={"if-none-match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    changed = node.get("/daemon/help", headers={"if-none-match": 'W/"other"'})
    assert changed.status_code == 200
    with httpx.stream(
        "GET", node.url + "/daemon/help", headers={"accept-encoding": "gzip"}
    ) as zipped:
        compressed = b"".join(zipped.iter_raw())  # the bytes on the wire, not decoded
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"]
    assert len(compressed) < len(full.content)
    assert gzip.decompress(compressed) == full.content
    small = node.get("/flux/version", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers  # one packet is not worth compressing
    assert small.headers["etag"].startswith('W/"')


def test_routes_needing_fluxd_answer_503_while_others_answer(
    edge_node: tuple[EdgeNode, Admin],
) -> None:
    node, _ = edge_node  # this node has no fluxd at all
    for path in ("/daemon/getinfo", "/daemon/getBlockCount", "/daemon/getblock/5"):
        reply = node.get(path)
        assert reply.status_code == 503, path
        assert reply.headers["retry-after"] == "30"
        body = reply.json()
        assert body["status"] == "error" and body["data"]["code"] == "ECONNREFUSED"
    for path in ("/flux/version", "/flux/uptime", "/id/loginphrase"):
        reply = node.get(path)
        assert reply.status_code == 200 and reply.json()["status"] == "success", path
