from fluxos.network.dos import DosState, collision
from fluxos.network.nodelist import FluxnodeList


def test_increments_set_the_message_only_above_ten() -> None:
    dos = DosState()
    for _ in range(5):
        dos.add(2, "Flux is not available for outside communication")
    assert dos.view() == {"dosState": 10, "dosMessage": None}
    assert not dos.blocks_login
    dos.add(2, "Flux is not available for outside communication")
    assert dos.view() == {
        "dosState": 12,
        "dosMessage": "Flux is not available for outside communication",
    }
    assert dos.blocks_login and not dos.is_dos
    dos.add(2, "another reason")  # the first message stays
    assert dos.view()["dosMessage"] == "Flux is not available for outside communication"
    dos.reset()
    assert dos.view() == {"dosState": 0, "dosMessage": None}


def test_slow_increments_are_reported_as_numbers() -> None:
    dos = DosState()
    for _ in range(3):
        dos.add(0.13, "too few peers")
    assert dos.view() == {"dosState": 0.39, "dosMessage": None}


def test_sticky_state_overrides_while_set() -> None:
    dos = DosState()
    dos.set_sticky(100, "tampering")
    dos.add(1, "x")
    assert dos.view() == {"dosState": 100, "dosMessage": "tampering"} and dos.is_dos
    dos.clear_sticky()
    assert dos.view() == {"dosState": 1, "dosMessage": None}


def entry(ip: str, collateral: str, confirmed: int = 10) -> dict:
    return {"ip": ip, "pubkey": "k", "collateral": collateral, "confirmed_height": confirmed}


def test_collisions() -> None:
    mine = "COutPoint(aa, 0)"
    alone = FluxnodeList([entry("1.2.3.4:16127", mine)])
    assert collision(alone, "1.2.3.4:16127", mine) is None
    taken = FluxnodeList([entry("1.2.3.4:16127", "COutPoint(bb, 0)")])
    assert collision(taken, "1.2.3.4:16127", mine).startswith("Flux collision detection.")
    earlier = FluxnodeList(
        [entry("1.2.3.4:16127", mine, 20), entry("1.2.3.4:16127", "COutPoint(bb, 0)", 15)]
    )
    assert collision(earlier, "1.2.3.4:16127", mine) == (
        "Flux earlier collision detection on ip:1.2.3.4:16127"
    )
    later = FluxnodeList(
        [entry("1.2.3.4:16127", mine, 20), entry("1.2.3.4:16127", "COutPoint(bb, 0)", 25)]
    )
    assert collision(later, "1.2.3.4:16127", mine) is None
    assert collision(FluxnodeList(), "1.2.3.4:16127", mine) is None
