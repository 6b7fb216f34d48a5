"""A real network for end-to-end tests: ev-central, ev-cp-e and ev-cp-m processes."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from sim.fleet import SimulatedCP, plan
from sim.network import Network, free_ports, start_cp, tail, wait_port
from tests.support import missing, wait_for


class LiveNetwork:
    """Central and CPs as real processes; with ``kafka`` and ``mqtt`` addresses also the
    data plane: engines publish over MQTT, a bridge relays into Kafka, Central consumes."""

    def __init__(self, workdir: Path, count: int, kafka: str | None = None,
                 mqtt: str | None = None, engine_args: tuple[str, ...] = ()) -> None:
        self.kafka, self.mqtt = kafka, mqtt
        self.engine_args = list(engine_args) + (["--mqtt", mqtt] if mqtt else [])
        self.env = {"EV_KAFKA_SESSION_MS": "2000"}
        self.central_args: list[str] = []  # more flags for ev-central
        self.net = Network(workdir)
        self.ports = free_ports()
        self.db = workdir / "central.db"
        self.token = secrets.token_urlsafe(12)
        self.http_port, self.listen_port = next(self.ports), next(self.ports)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.central = f"127.0.0.1:{self.listen_port}"
        self.cps: list[SimulatedCP] = plan(count, self.ports)
        self.secrets: dict[str, Path] = {}
        # each monitor's local control port, for `ev-cp-m reauth`
        self.controls = {cp.cp_id: f"127.0.0.1:{next(self.ports)}" for cp in self.cps}
        for cp in self.cps:
            out = self.net.run(["ev-central", "cp", "add", cp.cp_id, "--location", cp.location,
                                "--price", str(cp.price), "--db", str(self.db)])
            self.secrets[cp.cp_id] = workdir / f"{cp.cp_id}.secret"
            self.secrets[cp.cp_id].write_text(out.strip().splitlines()[-1])

    # processes
    def start_central(self) -> None:
        kafka = ["--kafka", self.kafka] if self.kafka else []
        process = self.net.start("central", [
            "ev-central", "--listen", self.central, "--http", f"127.0.0.1:{self.http_port}",
            "--db", str(self.db), f"--admin-token={self.token}", *kafka, *self.central_args],
            **self.env)
        log = self.net.logs / "central.log"
        wait_port(self.http_port, 30, "Central", process, log)
        # ... and it is this Central that listens there (it logs so once it has both ports)
        wait_for(lambda: process.poll() is not None or "Central up" in log.read_text(), 30)
        if process.poll() is not None:
            raise RuntimeError(f"Central exited with code {process.returncode}: "
                               f"{tail(log, 20)}")

    def start_bridge(self) -> None:
        self.net.start("bridge", ["ev-bridge", "--mqtt", self.mqtt, "--kafka", self.kafka,
                                  "--client-id", "bridge-test"], **self.env)

    def start_cps(self) -> None:
        for cp in self.cps:
            start_cp(self.net, cp, self.central, self.secrets[cp.cp_id], *self.engine_args,
                     monitor=["--control", self.controls[cp.cp_id]])

    def start_engine(self, cp: SimulatedCP) -> None:
        state = self.net.workdir / "cps" / cp.cp_id
        name = f"{cp.cp_id}-engine"
        process = self.net.start(name, [
            "ev-cp-e", "--cp-id", cp.cp_id, "--listen", f"127.0.0.1:{cp.engine_port}",
            "--panel", f"127.0.0.1:{cp.panel_port}", "--state-dir", str(state),
            *self.engine_args])
        wait_port(cp.engine_port, 30, "engine", process, self.net.logs / f"{name}.log")

    def add_driver(self, driver_id: str) -> None:
        self.net.run(["ev-central", "driver", "add", driver_id, "--db", str(self.db)])

    def start_driver(self, driver_id: str, *args: str) -> None:
        self.net.start(driver_id, ["ev-driver", "--kafka", self.kafka, "--driver-id", driver_id,
                                   "--state-dir", str(self.net.workdir / "drivers" / driver_id),
                                   *args], **self.env)

    def journal_totals(self) -> tuple[Decimal, Decimal, int]:
        """kWh, EUR and count of ended supplies over every engine's journal."""
        kwh = eur = Decimal(0)
        count = 0
        for path in (self.net.workdir / "cps").glob("*/journal.db"):
            with sqlite3.connect(path) as db:
                for row_kwh, row_eur in db.execute(
                        "SELECT kwh, eur FROM supplies WHERE ended_at IS NOT NULL"):
                    kwh, eur, count = kwh + Decimal(row_kwh), eur + Decimal(row_eur), count + 1
        return kwh, eur, count

    def central_totals(self) -> tuple[Decimal, Decimal, int]:
        ended = [s for s in self.get("/api/sessions") if s["status"] == "ended"]
        return (sum((Decimal(s["kwh"]) for s in ended), Decimal(0)),
                sum((Decimal(s["eur"]) for s in ended), Decimal(0)), len(ended))

    def keys_hex(self) -> list[str]:
        """Every key Central holds, as hex (to check none of them leaks anywhere)."""
        with sqlite3.connect(self.db) as db:
            return [row[0] for row in db.execute("SELECT key FROM cp_keys")]

    def start_monitor(self, cp: SimulatedCP) -> None:
        self.net.start(f"{cp.cp_id}-monitor", [
            "ev-cp-m", "--cp-id", cp.cp_id, "--engine", f"127.0.0.1:{cp.engine_port}",
            "--central", self.central, "--secret-file", str(self.secrets[cp.cp_id]),
            "--control", self.controls[cp.cp_id]])

    def process(self, name: str) -> subprocess.Popen:
        return self.net.processes[name]

    def signal(self, name: str, sig: int) -> None:
        os.kill(self.process(name).pid, sig)
        if sig == signal.SIGKILL:
            self.process(name).wait(5)
            del self.net.processes[name]

    def log(self, name: str) -> str:
        return (self.net.logs / f"{name}.log").read_text(errors="replace")

    # REST
    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.load(response)

    def post(self, path: str, method: str = "POST"):
        """An admin request (the admin token as bearer)."""
        request = urllib.request.Request(self.url + path, method=method,
                                         data=b"" if method != "GET" else None,
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def state(self, cp_id: str) -> str | None:
        try:
            return self.get(f"/api/cps/{cp_id}")["state"]
        except OSError:
            return None

    def wait_state(self, cp_id: str, wanted: str, timeout: float = 10.0) -> float:
        """Seconds until the REST API shows ``wanted``."""
        started = time.monotonic()
        wait_for(lambda: self.state(cp_id) == wanted, timeout, interval=0.02)
        return time.monotonic() - started

    def panel(self, cp: SimulatedCP, *words: str) -> dict:
        out = self.net.run(["ev-cp-e", "panel", "--panel", f"127.0.0.1:{cp.panel_port}", *words])
        return json.loads(out[out.index("{"):])

    def stop(self) -> None:
        self.net.stop()


def _network(tmp_path_factory, count: int):
    live = LiveNetwork(tmp_path_factory.mktemp("net"), count)
    live.start_central()
    live.start_cps()
    for cp in live.cps:
        live.wait_state(cp.cp_id, "ACTIVATED", 20)
    return live


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def populated(tmp_path):
    """A Central fleet in process over a populated store, and its site (the dashboard's
    browser tests)."""
    from tests.unit.central.conftest import populate

    fleet, site, _ = populate(tmp_path / "central.db")
    yield fleet, site
    fleet.store.close()


@pytest.fixture
def fleet(populated):
    return populated[0]


@pytest.fixture
def site(populated):
    return populated[1]


@pytest.fixture
def network(tmp_path_factory):
    """Central and one CP, all ACTIVATED; fresh for each test."""
    live = _network(tmp_path_factory, 1)
    yield live
    live.stop()


@pytest.fixture
def network2(tmp_path_factory):
    """Central and two CPs."""
    live = _network(tmp_path_factory, 2)
    yield live
    live.stop()


def start_supply(live: LiveNetwork, cp: SimulatedCP) -> str:
    """Request a supply at the CP and plug in; returns the session id."""
    live.panel(cp, "press", "request")
    live.wait_state(cp.cp_id, "AUTHORIZED")
    live.panel(cp, "press", "plug")
    live.wait_state(cp.cp_id, "SUPPLYING")
    return live.get(f"/api/cps/{cp.cp_id}")["session_id"]
