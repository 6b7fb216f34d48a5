"""Central holding N connected CPs at 1 Hz heartbeats: CPU, RSS and state lag.

Central runs as a real ``ev-central`` process; the CPs are the fleet simulator in
this process.  State lag: a simulated CP reports a fault (what its monitor does when
the fault button is pressed) and the clock stops when ``GET /api/cps/<id>`` shows
BROKEN.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from bench.fleetsim import connect_fleet
from bench.stats import summary
from cloud.central.store import Store
from sim.network import Network, free_ports, wait_port


def register(db: Path, count: int) -> list[tuple[str, str]]:
    store = Store(str(db))
    credentials = [(f"CP{n:05d}", store.add_cp(f"CP{n:05d}", "bench", "0.30"))
                   for n in range(count)]
    store.close()
    return credentials


def state_of(url: str, cp_id: str) -> str:
    with urllib.request.urlopen(f"{url}/api/cps/{cp_id}", timeout=5) as response:
        return json.load(response)["state"]


async def wait_rest(url: str, cp_id: str, wanted: str, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await asyncio.to_thread(state_of, url, cp_id)
        if state == wanted:
            return time.perf_counter()
        await asyncio.sleep(0.005)
    raise TimeoutError(f"{cp_id} did not become {wanted}")


def cpu_and_rss(process: psutil.Process, seconds: float) -> tuple[float, float]:
    before = process.cpu_times()
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100 * used / seconds, process.memory_info().rss / 2**20


async def measure(url: str, central: psutil.Process, fleet, probes: int, window: float) -> dict:
    await asyncio.sleep(5)  # let heartbeats settle
    cpu, rss = await asyncio.to_thread(cpu_and_rss, central, window)
    lags = []
    step = max(1, len(fleet) // probes)
    for cp in fleet[::step][:probes]:
        started = time.perf_counter()
        cp.set_engine("KO")
        lags.append(await wait_rest(url, cp.cp_id, "BROKEN") - started)
        cp.set_engine("OK")
    alive = sum(not cp.closed for cp in fleet)
    return {"cpu_percent": round(cpu, 1), "rss_mib": round(rss, 1), "connected": alive,
            **summary("fault -> REST BROKEN", lags)}


def run(count: int = 2000, probes: int = 100, window: float = 20.0, progress=print) -> dict:
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-") as tmp:
        db = Path(tmp) / "central.db"
        progress(f"  registering {count} CPs")
        credentials = register(db, count)
        network = Network(Path(tmp))
        http, listen = next(ports), next(ports)
        try:
            process = network.start("central", [
                "ev-central", "--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{http}",
                "--db", str(db), f"--admin-token={secrets.token_urlsafe(12)}",
            ])
            wait_port(http, 15, "Central")
            # HTTP listens before the CP server does: the fleet needs the CP port
            wait_port(listen, 15, "Central's CP server", process, network.logs / "central.log")
            url = f"http://127.0.0.1:{http}"

            async def scenario():
                fleet = await connect_fleet("127.0.0.1", listen, credentials, progress=progress)
                progress(f"  {len(fleet)} CPs connected; measuring for {window:.0f} s")
                return await measure(url, psutil.Process(process.pid), fleet, probes, window)

            result = asyncio.run(scenario())
        finally:
            network.stop()
    return {"cps": count, **result}
