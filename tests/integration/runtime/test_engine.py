"""The Docker adapter against a real dockerd: images from a real registry, a real
network, a container with published ports, limits and mounts that serves HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fluxos.errors import NotFound
from fluxos.runtime.engine import (
    BindMount,
    ContainerSpec,
    DockerEngine,
    default_nofile,
    split_repotag,
)
from fluxos.runtime.errors import DockerError, DockerUnavailable
from tests.integration.runtime.conftest import Images
from tests.support.asyncwait import eventually
from tests.support.dockerd import INDEX_TEXT
from tests.support.processes import free_port

NETWORK = "fluxDockerNetwork_enginetest"


async def test_container_lifecycle(engine: DockerEngine, images: Images, tmp_path: Path) -> None:
    await engine.pull(images.httpd)
    tags = [tag for image in await engine.list_images() for tag in image.get("RepoTags") or []]
    assert images.httpd in tags

    await engine.create_network(NETWORK, "172.23.201.0/24", "172.23.201.1")
    data = tmp_path / "appdata"
    data.mkdir()
    (data / "note.txt").write_text("mounted")
    port = free_port()
    name = "fluxweb_enginetest"
    spec = ContainerSpec(
        name=name,
        image=images.httpd,
        hostname="web",
        env=["GREETING=hi", "FLUX_APP_NAME=enginetest"],
        ports=[(80, port)],
        nano_cpus=500_000_000,
        memory=64 * 1024 * 1024,
        memory_swap=(64 + 2000) * 1024 * 1024,
        mounts=[BindMount(str(data), "/data")],
        network=NETWORK,
        ipv4="172.23.201.2",
        extra_hosts={"fluxnode.service": "169.254.43.43"},
        nofile=default_nofile(),
    )
    try:
        await engine.create(spec)
        await engine.start(name)
        inspect = await engine.inspect(name)
        host = inspect["HostConfig"]
        assert host["NanoCpus"] == 500_000_000
        assert host["Memory"] == 64 * 1024 * 1024
        assert host["RestartPolicy"]["Name"] == "no"
        assert host["LogConfig"] == {
            "Type": "json-file",
            "Config": {"max-file": "1", "max-size": "20m"},
        }
        limit = default_nofile()
        assert host["Ulimits"] == [{"Name": "nofile", "Hard": limit, "Soft": limit}]
        assert set(host["PortBindings"]) == {"80/tcp", "80/udp"}
        assert "fluxnode.service:169.254.43.43" in host["ExtraHosts"]
        assert "GREETING=hi" in inspect["Config"]["Env"]
        endpoint = inspect["NetworkSettings"]["Networks"][NETWORK]
        assert endpoint["IPAddress"] == "172.23.201.2"

        async def answers() -> bool:
            async with httpx.AsyncClient() as http:
                reply = await http.get(f"http://127.0.0.1:{port}/", timeout=2)
            return reply.text.strip() == INDEX_TEXT

        await eventually(answers, within=30)

        output = b"".join(
            [chunk async for chunk in engine.exec_stream(name, ["/bin/cat", "/data/note.txt"])]
        )
        assert output == b"mounted"
        top = await engine.top(name)
        assert any("httpd" in " ".join(row) for row in top["Processes"])
        stats = await engine.stats(name)
        assert "memory_stats" in stats
        assert [c async for c in engine.exec_stream(name, ["/bin/touch", "/tmp/made"])] == []
        changes = await engine.changes(name) or []
        assert {"Path": "/tmp/made", "Kind": 1} in changes
        networks = {network.name: network for network in await engine.list_networks()}
        assert networks[NETWORK].subnets == ["172.23.201.0/24"]
        assert name in networks[NETWORK].containers

        await engine.pause(name)
        assert (await engine.inspect(name))["State"]["Status"] == "paused"
        await engine.unpause(name)
        await engine.stop(name, grace=2)
        assert (await engine.inspect(name))["State"]["Running"] is False
    finally:
        await engine.remove(name, force=True)
        await engine.remove_network(NETWORK, force=True)
    with pytest.raises(NotFound, match="No such container"):
        await engine.inspect(name)
    assert not await engine.exists(name)


async def test_refusals_carry_dockerds_explanation(engine: DockerEngine) -> None:
    with pytest.raises(DockerError, match=r"not found|manifest unknown|connection refused"):
        await engine.pull(f"127.0.0.1:{free_port()}/nothing/here:1")
    with pytest.raises(NotFound):
        await engine.start("fluxnothing_nothing")


async def test_an_engine_that_is_not_there(tmp_path: Path) -> None:
    engine = DockerEngine(f"unix://{tmp_path}/absent.sock")
    try:
        assert not await engine.available()
        with pytest.raises(
            DockerUnavailable, match="Docker is not available on this node"
        ) as raised:
            await engine.list_containers()
        assert raised.value.http_status == 503
    finally:
        engine.close()


def test_split_repotag() -> None:
    assert split_repotag("127.0.0.1:5000/flux/web:1.0") == ("127.0.0.1:5000/flux/web", "1.0")
    assert split_repotag("127.0.0.1:5000/flux/web") == ("127.0.0.1:5000/flux/web", "latest")
    assert split_repotag("runonflux/web@sha256:ab") == ("runonflux/web", "sha256:ab")
