"""Central with N OCPP 1.6J chargers, beside the same N CPs on the framed protocol.

Central runs as a real ``ev-central --ocpp`` process; the chargers are
:mod:`bench.ocpp_fleet` in this process (raw OCPP-J frames: see :mod:`bench.ocppsim`
for why not ``ocpp``'s ChargePoint).  Each boots, sends Heartbeat at the interval
Central's BootNotification answer sets (Central's liveness is the WebSocket's pings,
so it sets 300 s), says Available; ``share`` of them start a transaction with a
registered driver's idTag, say Charging and send MeterValues every 10 s.  Measured as
:mod:`bench.central_fleet` measures the framed fleet, over the same window: Central's
CPU and RSS, and the fault -> REST lag (a probe charger sends StatusNotification
Faulted, the clock stops when ``GET /api/cps/<id>`` shows BROKEN).  Besides: how long
Central takes to answer the chargers' calls during the window, how many CPs
``/metrics`` counts SUPPLYING, and at the end every transaction is stopped and Central's
ended sessions must sum to the energy the chargers' meters say (billed once, none lost).

:func:`compare` runs the framed fleet (:func:`bench.central_fleet.run`) and then this
one, with the same N, probes and window, and prints them side by side.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import psutil

from bench import central_fleet
from bench.central_fleet import cpu_and_rss, register, wait_rest
from bench.ocpp_fleet import connect_chargers
from bench.ocppsim import ChargerModel, expected_kwh
from bench.stats import summary, supplying_in
from cloud.central.store import Store
from sim.network import Network, free_ports, wait_port


def get(url: str, path: str):
    with urllib.request.urlopen(f"{url}{path}", timeout=10) as response:
        body = response.read()
    return body.decode() if path == "/metrics" else json.loads(body)


def register_drivers(db: Path, cp_ids: list[str]) -> None:
    store = Store(str(db))
    for cp_id in cp_ids:
        store.add_driver(f"D{cp_id}")
    store.close()


async def measure(url: str, central: psutil.Process, fleet, probes: int, window: float,
                  warmup: float = 5.0) -> dict:
    await asyncio.sleep(warmup)  # let the first MeterValues arrive
    for charger in fleet:
        charger.model.round_trips.clear()
    cpu, rss = await asyncio.to_thread(cpu_and_rss, central, window)
    trips = [t for c in fleet for t in c.model.round_trips]
    supplying = supplying_in(await asyncio.to_thread(get, url, "/metrics"))
    lags, answered = [], []
    idle = [c for c in fleet if c.model.id_tag is None and not c.closed]
    step = max(1, len(idle) // probes)
    for charger in idle[::step][:probes]:
        charger.model.round_trips.clear()
        started = time.perf_counter()
        charger.do(ChargerModel.fault)
        lags.append(await wait_rest(url, charger.cp_id, "BROKEN") - started)
        while not charger.model.round_trips and not charger.closed:
            await asyncio.sleep(0.001)
        answered += charger.model.round_trips[:1]
        charger.do(ChargerModel.recover)
    return {"cpu_percent": round(cpu, 1), "rss_mib": round(rss, 1),
            "connected": sum(not c.closed for c in fleet), "supplying": supplying,
            **summary("fault -> REST BROKEN", lags),
            "fault_answered": summary("StatusNotification Faulted -> Central's answer",
                                      answered),
            "answers": summary("charger call -> Central's answer (during the window)",
                               trips)}


async def settle(fleet, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(c.model.idle or c.closed for c in fleet):
        await asyncio.sleep(0.1)


async def stop_all(url: str, fleet) -> dict:
    """Every transaction stopped; Central's ended sessions against the meters."""
    for charger in fleet:
        charger.do(ChargerModel.stop_charging)
    await settle(fleet)
    totals = await asyncio.to_thread(get, url, "/api/sessions/totals?status=ended")
    models = [c.model for c in fleet]
    expected = expected_kwh(models)
    stopped = sum(len(m.billed_wh) for m in models)
    return {"transactions_stopped": stopped, "sessions_ended": totals["count"],
            "kwh_metered": str(expected), "kwh_billed": totals["kwh"],
            "billed_once": totals["count"] == stopped
            and Decimal(totals["kwh"]) == expected}


def run(count: int = 2000, probes: int = 100, window: float = 20.0, share: float = 0.2,
        progress=print, warmup: float = 5.0) -> dict:
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-") as tmp:
        db = Path(tmp) / "central.db"
        progress(f"  registering {count} CPs")
        credentials = register(db, count)
        charging = [cp_id for cp_id, _ in credentials[::max(1, round(1 / share))]] \
            if share > 0 else []
        register_drivers(db, charging)
        network = Network(Path(tmp))
        http, listen, ocpp = next(ports), next(ports), next(ports)
        try:
            process = network.start("central", [
                "ev-central", "--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{http}",
                "--ocpp", f"127.0.0.1:{ocpp}", "--db", str(db),
                f"--admin-token={secrets.token_urlsafe(12)}"])
            wait_port(http, 15, "Central")
            wait_port(ocpp, 15, "Central's OCPP endpoint", process, network.logs / "central.log")
            url = f"http://127.0.0.1:{http}"

            async def scenario():
                fleet, tasks = await connect_chargers(f"ws://127.0.0.1:{ocpp}/ocpp/",
                                                      credentials, set(charging),
                                                      progress=progress)
                progress(f"  {sum(not c.closed for c in fleet)} OCPP chargers connected, "
                         f"{len(charging)} charging; measuring for {window:.0f} s")
                result = await measure(url, psutil.Process(process.pid), fleet, probes, window,
                                       warmup)
                result["billing"] = await stop_all(url, fleet)
                result["timeouts"] = sum(c.model.timeouts for c in fleet)
                errors = [f"{c.cp_id}: {e}" for c in fleet for e in c.model.errors]
                result["charger_errors"] = len(errors)
                if errors:
                    result["first_error"] = errors[0]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                return result

            result = asyncio.run(scenario())
        finally:
            network.stop()
    return {"cps": count, "charging": len(charging),
            "load": "Heartbeat every 300 s (Central's interval), WebSocket pings every 20 s, "
                    "MeterValues every 10 s while charging", **result}


ROWS = [("connected", "connected"), ("CPU %", "cpu_percent"), ("RSS MiB", "rss_mib"),
        ("fault probes", "samples"), ("fault->REST p50 ms", "p50_ms"),
        ("fault->REST p99 ms", "p99_ms"), ("fault->REST max ms", "max_ms")]


def side_by_side(framed: dict, ocpp: dict) -> str:
    lines = [f"  {'':20} {'framed':>10} {'OCPP 1.6J':>10}"]
    for label, key in ROWS:
        lines.append(f"  {label:20} {framed.get(key, '-')!s:>10} {ocpp.get(key, '-')!s:>10}")
    return "\n".join(lines)


def compare(count: int = 2000, probes: int = 100, window: float = 20.0,
            progress=print) -> dict:
    """The framed fleet, then the OCPP fleet: same N, probes and window, one run."""
    progress(f"  framed protocol: {count} CPs, 1 Hz heartbeats")
    framed = central_fleet.run(count, probes, window, progress=progress)
    progress(f"  OCPP 1.6J: {count} chargers")
    ocpp = run(count, probes, window, progress=progress)
    progress(side_by_side(framed, ocpp))
    return {"load_average": [round(v, 2) for v in os.getloadavg()],
            "framed": {**framed, "load": "heartbeat every 1 s, sealed frames"}, "ocpp": ocpp}
