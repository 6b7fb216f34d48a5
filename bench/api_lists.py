"""Central's REST list endpoints with 10,000 CPs registered: p50/p99 of ``GET /api/cps``
(whole, and one page of 100), ``/api/sessions``, ``/api/drivers`` and ``/api/audit``,
a real ``ev-central`` process, one new connection a request."""

from __future__ import annotations

import http.client
import secrets
import tempfile
import time
from pathlib import Path

from bench.stats import summary
from cloud.central import audit
from cloud.central.store import Store
from sim.network import Network, free_ports, wait_port

LISTS = {"cps": "/api/cps", "cps_page": "/api/cps?limit=100&offset=5000",
         "sessions": "/api/sessions", "supplying": "/api/sessions?status=supplying",
         "drivers": "/api/drivers", "audit": "/api/audit"}


def seed(db: Path, cps: int, drivers: int, sessions: int, records: int) -> None:
    store = Store(str(db))
    for n in range(cps):
        store.add_cp(f"CP{n:05d}", f"City {n % 50}", "0.35")
    for n in range(drivers):
        store.add_driver(f"D{n:04d}")
    for n in range(sessions):
        day = f"2026-01-{n % 28 + 1:02d}"
        store.record_ended(f"s{n:06d}", f"CP{n % cps:05d}", f"D{n % drivers:04d}", "0.35",
                           f"{day}T10:00:00Z", f"{day}T11:00:00Z", "2.5", "0.875", "unplugged")
    for n in range(records):
        store.append_audit(audit.Record("stop", "admin", "bench", f"CP{n % cps:05d}"))
    store.close()


def get(port: int, path: str, token: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def run(cps: int = 10000, rounds: int = 100, progress=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="ev-bench-api-") as tmp:
        folder = Path(tmp)
        network = Network(folder)
        db, token = folder / "central.db", secrets.token_urlsafe(16)
        progress(f"registering {cps} CPs, 1,000 drivers, 20,000 sessions, 2,000 audit records")
        seed(db, cps, 1000, 20000, 2000)
        ports = free_ports()
        http_port, listen_port = next(ports), next(ports)
        try:
            process = network.start("central", [
                "ev-central", "--listen", f"127.0.0.1:{listen_port}", "--http",
                f"127.0.0.1:{http_port}", "--db", str(db), f"--admin-token={token}"])
            wait_port(http_port, 60, "Central", process, network.logs / "central.log")
            timings: dict[str, list[float]] = {name: [] for name in LISTS}
            for _ in range(rounds):
                for name, path in LISTS.items():
                    status, seconds = get(http_port, path, token)
                    if status != 200:
                        raise RuntimeError(f"GET {path}: HTTP {status}")
                    timings[name].append(seconds)
        finally:
            network.stop()
        return {"cps": cps, **{name: summary(f"GET {LISTS[name]}", values)
                               for name, values in timings.items()}}
