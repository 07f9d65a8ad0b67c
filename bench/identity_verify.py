"""Identity throughput: signature verifications per second on one core (fluxos.crypto beside
bitcoinjs-message and nano-ethereum-signer, in the same run), then full POST /id/verifylogin
requests per second against a running node.

The verification figures reuse bench/crypto_verify.py's measurement (CPU time, best of a
few short runs, interleaved with the JS side). For verifylogin, every request logs in with
a distinct phrase fetched from the node and signed beforehand, so each one does the whole
job: validate, look the phrase up, verify the signature, consume the phrase and store the
session. wrk replays the signed bodies (one Lua state, one body per request); the rate
counted is sessions actually created per second, read back from the node.

    .venv/bin/python bench/identity_verify.py [--rounds 5] [--seconds 5] [--no-node]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from _loadgen import run_wrk, start_node, wait_for
from crypto_verify import (
    best_rates,
    ensure_js_packages,
    node_round,
    python_checks,
    rate,
)
from fluxos.crypto import PrivateKey, bitcoin_address, sign_message

HOST = "127.0.0.1"
PORT = 16177
CONNECTIONS = 16


def verification_rates(rounds: int, seconds: float, repeats: int, with_node: bool) -> None:
    checks = python_checks()
    checks = {"bitcoin": checks["bitcoin"], "ethereum": checks["ethereum"]}
    iterations = {n: max(50, int(rate(c, 200) * seconds / repeats)) for n, c in checks.items()}
    node_problem = ensure_js_packages() if with_node else "skipped (--no-node)"
    if node_problem is None:
        calibration = node_round({"bitcoin": 300, "ethereum": 30}, 1)
        js_iterations = {n: max(20, int(r * seconds / repeats)) for n, r in calibration.items()}
    py: dict[str, list[float]] = {"bitcoin": [], "ethereum": []}
    js: dict[str, list[float]] = {"bitcoin": [], "ethereum": []}
    for _ in range(rounds):
        for name, value in best_rates(checks, iterations, repeats).items():
            py[name].append(value)
        if node_problem is None:
            for name, value in node_round(js_iterations, repeats).items():
                js[name].append(value)
    print(f"signature verifications per CPU-second, one core (median of {rounds} rounds)")
    print(f"  fluxos verify_message, Bitcoin signed message   {_median(py['bitcoin']):>9,.0f}/s")
    print(f"  fluxos verify_message, Ethereum personal_sign   {_median(py['ethereum']):>9,.0f}/s")
    if node_problem is not None:
        print(f"  JavaScript side: {node_problem}")
        return
    print(f"  bitcoinjs-message 2.2.0 verify                  {_median(js['bitcoin']):>9,.0f}/s")
    print(f"  nano-ethereum-signer 0.1.2 signerAddress        {_median(js['ethereum']):>9,.0f}/s")
    for name in ("bitcoin", "ethereum"):
        ratios = [p / j for p, j in zip(py[name], js[name], strict=True)]
        print(f"  ratio fluxos / JS, {name:<9} {statistics.median(ratios):.2f}x")


class LoginLoad:
    """A node process plus the signed login bodies to throw at it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.key = PrivateKey.generate()
        self.zelid = bitcoin_address(self.key.public_key)
        self.url = f"http://{HOST}:{PORT}"
        (data_dir / "fluxos.toml").write_text(f'zelid = "{self.zelid}"\n')
        self.process = start_node(data_dir, HOST, PORT, {"FLUXOS_LOG_LEVEL": "warning"})
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self.admin_header = ""

    def start(self) -> None:
        wait_for(f"{self.url}/flux/version")
        phrase = self._phrases(1)[0]
        body = self._body(phrase)
        assert self.http.post("/id/verifylogin", content=body).json()["status"] == "success"
        self.admin_header = json.dumps(
            {"zelid": self.zelid, "loginPhrase": phrase, "signature": json.loads(body)["signature"]}
        )

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait()

    def _phrases(self, count: int) -> list[str]:
        return [self.http.get("/id/loginphrase").json()["data"] for _ in range(count)]

    def _body(self, phrase: str) -> str:
        signature = sign_message(phrase, self.key)
        return json.dumps({"zelid": self.zelid, "loginPhrase": phrase, "signature": signature})

    def sessions(self) -> int:
        reply = self.http.get("/id/loggedusers", headers={"zelidauth": self.admin_header}).json()
        return len(reply["data"])

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def round(self, count: int, seconds: int, workdir: Path) -> tuple[float, float, int]:
        """(sessions created per wall second, per node CPU second, bodies left unused)."""
        bodies = workdir / "bodies.txt"
        bodies.write_text("\n".join(self._body(p) for p in self._phrases(count)) + "\n")
        script = workdir / "verifylogin.lua"
        script.write_text(_LUA.replace("BODIES_PATH", str(bodies)))
        before = self.sessions()
        time.sleep(1.1)  # a phrase is usable once strictly older than the node's clock
        cpu_before = self.cpu_seconds()
        run_wrk(f"{self.url}/id/verifylogin", CONNECTIONS, seconds, 1, script)
        cpu = self.cpu_seconds() - cpu_before
        created = self.sessions() - before
        return created / seconds, created / cpu, count - created


_LUA = """
local bodies = {}
for line in io.lines("BODIES_PATH") do bodies[#bodies + 1] = line end
local i = 0
local headers = {["Content-Type"] = "text/plain"}
request = function()
  -- once every body is used, replays are refused; the rate counts created sessions only
  i = math.min(i + 1, #bodies)
  return wrk.format("POST", "/id/verifylogin", headers, bodies[i])
end
"""


def verifylogin_rates(rounds: int, seconds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "node").mkdir()
        load = LoginLoad(workdir / "node")
        try:
            load.start()
            estimate, _, _ = load.round(3000, 2, workdir)  # size the rounds from a short one
            rates: list[float] = []
            per_cpu: list[float] = []
            for _ in range(rounds):
                count = int(max(estimate, 200) * seconds * 1.5)
                created_per_s, created_per_cpu_s, unused = load.round(count, seconds, workdir)
                if unused <= 0:
                    print("  (a round ran out of signed phrases; its figure is a lower bound)")
                rates.append(created_per_s)
                per_cpu.append(created_per_cpu_s)
                estimate = max(estimate, created_per_s)
        finally:
            load.stop()
    print(
        f"POST /id/verifylogin on one node process (wrk -t1 -c{CONNECTIONS} -d{seconds}s, "
        f"median of {rounds} runs), each a new session from a distinct signed phrase:"
    )
    print(f"  {_median(rates):>9,.0f} logins/s   (runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    # Wall-clock rates swing with other load on the machine; per node-CPU-second less so.
    print(
        f"  {_median(per_cpu):>9,.0f} logins per node CPU-second   "
        f"(runs: {', '.join(f'{r:,.0f}' for r in per_cpu)})"
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per round")
    parser.add_argument("--cpu-seconds", type=float, default=0.3, help="per verify measurement")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-node", action="store_true", help="skip the JavaScript side")
    args = parser.parse_args()
    verification_rates(args.rounds, args.cpu_seconds, args.repeats, not args.no_node)
    verifylogin_rates(args.rounds, args.seconds)


if __name__ == "__main__":
    main()
