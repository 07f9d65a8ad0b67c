"""flux.conf reading and writing as FluxOS does it (daemon.md §2.2)."""

from __future__ import annotations

from pathlib import Path

from fluxos.chain.fluxconf import FluxConf

SAMPLE = """# flux node
rpcuser=fluxuser
rpcpassword=a=b=c
addnode=1.2.3.4
addnode=5.6.7.8
  rpcport = 16124
not a setting
"""


def test_first_equals_splits_and_repeats_become_lists() -> None:
    conf = FluxConf.loads(SAMPLE)
    assert conf.get("rpcpassword") == "a=b=c"
    assert conf.get("rpcport") == "16124"
    assert conf.get_all("addnode") == ["1.2.3.4", "5.6.7.8"]
    as_dict = conf.as_dict()
    assert as_dict["addnode"] == ["1.2.3.4", "5.6.7.8"]
    assert as_dict["# flux node"] == "" and as_dict["not a setting"] == ""


def test_comments_survive_a_rewrite(tmp_path: Path) -> None:
    conf = FluxConf.loads(SAMPLE)
    conf.set("rpcport", "16224")
    conf.add("addnode", "9.9.9.9")
    path = tmp_path / "flux.conf"
    conf.write(path)
    again = FluxConf.read(path)
    assert again.get("rpcport") == "16224"
    assert again.get_all("addnode") == ["1.2.3.4", "5.6.7.8", "9.9.9.9"]
    text = path.read_text()
    assert text.startswith("# flux node\n") and "not a setting\n" in text
    assert (path.stat().st_mode & 0o777) == 0o600
