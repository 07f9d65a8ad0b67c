"""Streaming fluxd's chain to a machine on the LAN (system.md §8): a real devnet fluxd
stopped and started through the node's hooks, a client on a private address inside a
network namespace (tests/support/upnpgateway.py gives the LAN), the tar checked file by
file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from fluxos.chain.fluxd import fluxd_client
from fluxos.clock import SystemClock
from fluxos.configsections import HookSettings
from fluxos.system.chainstream import ChainStreamer, Refused, is_private
from tests.support.daemons import DevnetProcess
from tests.support.processes import NodeProcess, wait_until
from tests.support.upnpgateway import UpnpGateway

# Run inside the namespace (from the LAN side): prepare, then stream into a file.
CLIENT = """
import json, sys, time, httpx
url, target, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out = {"waits": 0}
with httpx.Client(timeout=60) as client:
    prep = client.get(url + "/flux/streamchainpreparation")
    out["prep"] = [prep.status_code, prep.text]
    for _ in range(60):  # fluxd takes a moment to exit after the stop
        with client.stream("POST", url + "/flux/streamchain", json=body) as reply:
            out["status"] = reply.status_code
            if reply.status_code == 503:
                out["refusal"] = reply.read().decode()
                out["waits"] += 1
                time.sleep(0.5)
                continue
            out["approx"] = reply.headers.get("approx-content-length")
            with open(target, "wb") as sink:
                for chunk in reply.iter_bytes():
                    sink.write(chunk)
            break
print(json.dumps(out))
"""

STOP = "import os, signal, sys; os.kill(int(sys.argv[1]), signal.SIGTERM)"

START_DEVNET = """
import subprocess, sys
log = open(sys.argv[1], "ab")
process = subprocess.Popen(sys.argv[3:], stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, start_new_session=True)
open(sys.argv[2], "w").write(str(process.pid))
"""


def make_chain(base: Path) -> dict[str, bytes]:
    files = {
        "determ_zelnodes/CURRENT": b"MANIFEST-000001\n",
        "chainstate/000003.ldb": os.urandom(300_000),
        "blocks/blk00000.dat": os.urandom(1_500_000),
        "blocks/index/000002.ldb": os.urandom(70_000),
    }
    for name, data in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(data)
    return files


@pytest.mark.parametrize("compress", [False, True])
def test_a_lan_client_clones_the_chain(tmp_path: Path, compress: bool) -> None:
    chain_dir = tmp_path / "fluxd-data"
    files = make_chain(chain_dir)
    devnet = DevnetProcess(tmp_path / "devnet").start()
    restarted_pid = tmp_path / "restarted.pid"
    with UpnpGateway(tmp_path) as lan:
        (tmp_path / "start_devnet.py").write_text(START_DEVNET)
        assert devnet.process is not None
        hooks = {
            # no `kill` binary assumed (procps may be absent): Python sends the signal
            "daemon_stop": [sys.executable, "-c", STOP, str(devnet.process.pid)],
            "daemon_start": [sys.executable, str(tmp_path / "start_devnet.py"),
                             str(devnet.log_path), str(restarted_pid), *devnet.command()],
        }  # fmt: skip
        data_dir = tmp_path / "node"
        data_dir.mkdir()
        (data_dir / "fluxos.toml").write_text(
            f'fluxd_conf = "{devnet.conf_path}"\n[daemon]\nembedded = false\n'
            f"[hooks]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in hooks.items())
        )
        node = NodeProcess(data_dir, host=lan.node_ip, env={"FLUXD_PATH": str(chain_dir)})
        node.start()
        try:
            (tmp_path / "client.py").write_text(CLIENT)
            target = tmp_path / ("chain.tar.gz" if compress else "chain.tar")
            result = subprocess.run(
                [*lan.exec_prefix(), sys.executable, str(tmp_path / "client.py"), node.url,
                 str(target), json.dumps({"compress": compress})],
                capture_output=True, text=True, timeout=180, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            out = json.loads(result.stdout)
            assert out["prep"] == [
                200,
                '{"status":"success","data":{"message":'
                '"Daemon stopped, you can start stream chain functionality"}}',
            ]
            assert devnet.process.wait(timeout=30) is not None  # the hook stopped fluxd
            assert out["status"] == 200, out
            if out["waits"]:
                assert out["refusal"] == "Flux daemon still running, unable to clone blockchain."
            with tarfile.open(target, "r:gz" if compress else "r:") as archive:
                got = {
                    member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
                    for member in archive.getmembers()
                    if member.isfile()
                }
            assert got == files
            if not compress:
                assert abs(int(out["approx"]) - target.stat().st_size) <= 20 * 1024
            # the stream's end started fluxd again through the daemon_start hook
            wait_until(restarted_pid.exists, timeout=30)
            wait_until(lambda: devnet.rpc("getblockcount") >= 0, timeout=60, interval=0.5)
        finally:
            node.stop()
            if restarted_pid.exists():
                os.kill(int(restarted_pid.read_text()), signal.SIGTERM)
            devnet.stop()


def test_only_private_callers_and_no_compressed_unsafe_stream() -> None:
    assert is_private("10.213.7.1") and is_private("192.168.1.20") and is_private("172.31.0.9")
    assert not is_private("127.0.0.1") and not is_private("172.32.0.1")
    assert is_private("::ffff:10.0.0.1") and not is_private("8.8.8.8")
    streamer = ChainStreamer(
        fluxd=fluxd_client(SystemClock()),
        hooks=HookSettings(),
        chain_dir=lambda: Path("/nonexistent"),
        embedded=False,
    )

    async def refusal(coroutine: object) -> tuple[int, str]:
        try:
            await coroutine  # type: ignore[misc]
        except Refused as refused:
            return refused.status, refused.message
        raise AssertionError("not refused")

    import asyncio

    status, message = asyncio.run(refusal(streamer.prepare("127.0.0.1")))
    assert status == 403 and message.startswith("Request must be from an address")
    status, message = asyncio.run(refusal(streamer.stream("10.1.2.3", {})))
    assert (status, message) == (500, "Unable to find chain")
