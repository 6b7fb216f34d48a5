"""The demo network: what is started, what is printed, and the watch that follows it.

One CP (the first) is the person's: no simulated vehicle plugs in there and no simulated
driver asks for it, and a driver of their own is registered.  Its engine and panel take
well-known ports when they are free, so that the README's commands work as written.
One more CP is an OCPP 1.6J charger (:mod:`sim.ocpp_charger`), on Central's OCPP endpoint.
"""

from __future__ import annotations

import json
import random
import secrets
import shutil
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from protocol.messages import driver_or_ad_hoc
from sim.fleet import driver_files, plan
from sim.network import BIN, Network, port_free, start_cp, wait_port
from sim.ocpp_charger import DemoOcppCharger
from sim.site import REGISTRY_PORT, Site
from sim.weather import DemoWeather

PERSON_DRIVER = "DRV-YOU"
HAND_ENGINE_PORT, HAND_PANEL_PORT, HAND_CONTROL_PORT = 6000, 6100, 6200
WATCH_EVERY_S = 0.5


class Stopping(BaseException):
    """A signal asked ev-sim to stop (a BaseException, so that no ``except Exception``
    on the way swallows it)."""


def say(text: str) -> None:
    """A line for the person watching, stamped with the time; a closed output (``ev-sim |
    head``) only silences ev-sim, it does not stop the network."""
    try:
        print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)
    except (BrokenPipeError, ValueError):
        from runtime.entry import _drop_stdout

        _drop_stdout()


def shown(script: str) -> str:
    """How a person types ``script`` here: its bare name when PATH finds this very one,
    else its path (relative when it is under the current folder)."""
    path = BIN / script
    if shutil.which(script) == str(path):
        return script
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Demo:
    def __init__(self, network: Network, args, ports, *, http, listen, ocpp, kafka: str,
                 mqtt: str, brokers: list) -> None:
        self.network, self.args, self.ports = network, args, ports
        self.http, self.kafka, self.mqtt, self.brokers = http, kafka, mqtt, brokers
        self.central = f"{listen[0]}:{listen[1]}"
        self.url = f"http://{http[0]}:{http[1]}/"
        self.db = network.workdir / "central.db"
        self.token = secrets.token_urlsafe(18)
        cps = plan(args.cps, ports)
        self.hand = replace(cps[0], engine_port=self._prefer(HAND_ENGINE_PORT),
                            panel_port=self._prefer(HAND_PANEL_PORT))
        self.hand_control = f"127.0.0.1:{self._prefer(HAND_CONTROL_PORT)}"
        self.site = Site(network.workdir / "site", self._prefer(REGISTRY_PORT))
        self.simulated = cps[1:]
        self.ocpp_endpoint = f"{ocpp[0]}:{ocpp[1]}"
        self.ocpp = DemoOcppCharger(network.workdir, ocpp, ports)
        self.everyone = [self.hand, *self.simulated, self.ocpp.cp]
        self.weather = DemoWeather(network.workdir / "weather", self.everyone)
        self.rng = random.Random(args.seed)
        self.drivers: list[str] = []  # the simulated ones
        self.rounds: dict[str, int] = {}

    def _prefer(self, port: int) -> int:
        return port if port_free("127.0.0.1", port) else next(self.ports)

    # -- starting --------------------------------------------------------------------
    def start(self) -> None:
        secrets_dir = self.network.workdir / "secrets"
        secrets_dir.mkdir(exist_ok=True)
        self.site.create()
        say(f"starting the registry on {self.site.url} (HTTPS, site CA {self.site.ca_cert})")
        self.site.start_registry(self.network, self.db)
        say(f"registering {len(self.everyone)} charging points through the registry")
        self.site.register(self.network, self.everyone, secrets_dir)
        count = self.args.drivers
        self.drivers = [f"DRV-{n:02d}" for n in range(1, count + 1)]
        for driver_id in [*self.drivers, PERSON_DRIVER]:
            self._register_driver(driver_id)
        say(f"starting Central on {self.central} (CP socket), {self.url} and "
            f"{self.ocpp_endpoint} (OCPP 1.6J)")
        self.weather.create()
        process = self.network.start("central", [
            "ev-central", "--listen", self.central, "--http", f"{self.http[0]}:{self.http[1]}",
            "--db", str(self.db), f"--admin-token={self.token}", "--kafka", self.kafka,
            "--ocpp", self.ocpp_endpoint,
            *self.weather.central_flags()])
        wait_port(self.http[1], 30, "Central", process, self.network.logs / "central.log")
        say("starting the weather office (ev-weather, simulated provider)")
        self.weather.start(self.network, self.url)
        say("starting the bridge (MQTT -> Kafka)")
        self.network.start("bridge", ["ev-bridge", "--mqtt", self.mqtt, "--kafka", self.kafka,
                                      "--client-id", "bridge-sim"])
        clock = ["--power-kw", str(self.args.power_kw), "--meter-speed",
                 str(self.args.meter_speed)]
        meter = ["--mqtt", self.mqtt, *clock]
        say(f"starting {len(self.simulated) + 1} charging points (an engine and a monitor each)")
        start_cp(self.network, self.hand, self.central, secrets_dir / f"{self.hand.cp_id}.secret",
                 *meter, monitor=["--control", self.hand_control])
        for cp in self.simulated:
            start_cp(self.network, cp, self.central, secrets_dir / f"{cp.cp_id}.secret",
                     *meter, "--vehicle-sim", str(self.args.charge_seconds))
        say(f"starting the OCPP 1.6J charger {self.ocpp.cp.cp_id} (ev-cp-m --ocpp "
            f"{self.ocpp.url})")
        self.ocpp.start(self.network, secrets_dir, *clock,
                        "--vehicle-sim", str(self.args.charge_seconds))
        self._wait_for_logins()
        answer = self.ocpp.configure(self.url, self.token)
        if answer != "Accepted":
            say(f"{self.ocpp.cp.cp_id} did not take MeterValueSampleInterval: {answer}")
        for driver_id in self.drivers:
            self._start_driver(driver_id)
        self._print_guide()

    def _wait_for_logins(self, timeout: float = 30.0) -> None:
        """Until every CP has logged in to Central, so that none shows as disconnected
        merely because it is still starting."""
        expected = {cp.cp_id for cp in self.everyone}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = {cp["id"]: cp["state"] for cp in get(self.url + "api/cps") or []}
            waiting = sorted(cp for cp in expected if states.get(cp, "DISCONNECTED")
                             == "DISCONNECTED")
            if not waiting:
                return
            time.sleep(0.2)
        say(f"still not logged in to Central after {timeout:g} s: {', '.join(waiting)}; "
            "see their monitor logs")

    def _register_driver(self, driver_id: str) -> None:
        try:
            self.network.run(["ev-central", "driver", "add", driver_id, "--db", str(self.db)])
        except RuntimeError as error:  # a --workdir used before already has them
            if "exists" not in str(error):
                raise

    def _start_driver(self, driver_id: str) -> None:
        """One round: a fresh file of ``--requests`` CP ids drawn from the simulated CPs
        and the OCPP charger; the first driver's first request is the OCPP charger, so
        that it is seen at work within the demo's first minute."""
        folder = self.network.workdir / "drivers"
        first = self.ocpp.cp if driver_id == self.drivers[0] and driver_id not in self.rounds \
            else None
        path = driver_files(folder, [driver_id], self.args.requests,
                            [*self.simulated, self.ocpp.cp], self.rng, first=first)
        self.rounds[driver_id] = self.rounds.get(driver_id, 0) + 1
        self.network.start(driver_id, [
            "ev-driver", "--kafka", self.kafka, "--driver-id", driver_id,
            "--file", str(path[driver_id]), "--state-dir", str(folder / driver_id)])

    # -- the printout ----------------------------------------------------------------
    def _print_guide(self) -> None:
        kafka, mqtt = self._broker_line("Kafka", self.kafka), self._broker_line("MQTT", self.mqtt)
        panel = f"{shown('ev-cp-e')} panel --panel 127.0.0.1:{self.hand.panel_port}"
        hand = self.hand
        lines = [
            "",
            "The network is up.",
            f"  dashboard    {self.url}   (sessions: {self.url}sessions)",
            f"  admin token  {self.token}   (the dashboard's Stop and Resume ask for it)",
            f"  Central      CP socket {self.central}, database {self.db}",
            f"  registry     {self.site.url}   (site CA {self.site.ca_cert}, enrollment token "
            f"in {self.site.token_file})",
            f"  Kafka        {kafka}",
            f"  MQTT         {mqtt}",
            f"  logs         {self.network.logs}/",
            "",
        ]
        lines.append(f"Simulated: {self.args.power_kw} kW chargers on a clock "
                     f"{self.args.meter_speed}x faster than yours (the meter counts "
                     f"{self.args.meter_speed} s of charge each second)")
        for cp in [*self.simulated, self.ocpp.cp]:
            what = "   (OCPP 1.6J)" if cp is self.ocpp.cp else ""
            lines.append(f"  {cp.cp_id:8} {cp.location:10} {cp.price} EUR/kWh   a vehicle "
                         f"charges {self.args.charge_seconds:g} s   panel "
                         f"127.0.0.1:{cp.panel_port}{what}")
        if self.drivers:
            lines.append(f"  drivers {', '.join(self.drivers)}: rounds of "
                         f"{self.args.requests} requests at these CPs, for as long as the "
                         "demo runs")
        lines.append("")
        new_engine, new_panel = next(self.ports), next(self.ports)
        lines += [
            f"Yours: {hand.cp_id} ({hand.location}, {hand.price} EUR/kWh), with no simulated "
            "vehicle or driver",
            f"  {panel} press request   # ask Central for a supply",
            f"  {panel} press plug      # plug in: SUPPLYING; press again to unplug: billed",
            f"  {panel} press fault     # KO: the tile turns red; press again: OK",
            f"  {panel} status          # state and LEDs as JSON",
            f"  {shown('ev-driver')} --kafka {self.kafka} --driver-id {PERSON_DRIVER}"
            f"   # your driver's app: 2 {hand.cp_id} asks for a supply",
            "",
            "Every message of a CP is sealed with a key Central issued it at login. "
            f"Revoke {hand.cp_id}'s key",
            "(the dashboard's Revoke key button does the same) and it goes out of service:",
            f"  curl -X DELETE -H 'Authorization: Bearer {self.token}' "
            f"{self.url}api/cps/{hand.cp_id}/key",
            "Re-authenticate it: a new key, and it is back in service:",
            f"  {shown('ev-cp-m')} reauth --control {self.hand_control}",
            "",
            *self.weather.guide(shown("ev-weather")),
            "",
            *self.ocpp.guide(shown("ev-cp-m"), self.site.flags(),
                             self.network.workdir / "secrets"),
            "",
            f"One more CP by hand (Central's CP socket is {self.central}):",
            f"  {shown('ev-cp-m')} register {' '.join(self.site.flags())} --cp-id NEW-01 "
            "--location Here --price 0.30 --secret-file new.secret",
            f"  {shown('ev-cp-e')} --cp-id NEW-01 --pin-factory mock --listen "
            f"127.0.0.1:{new_engine} --panel 127.0.0.1:{new_panel} --mqtt {self.mqtt} "
            f"--power-kw {self.args.power_kw} --meter-speed {self.args.meter_speed} &",
            f"  {shown('ev-cp-m')} --cp-id NEW-01 --engine 127.0.0.1:{new_engine} --central "
            f"{self.central} --secret-file new.secret",
            "",
            "Ctrl+C stops everything.",
            "",
        ]
        try:
            print("\n".join(lines), flush=True)
        except BrokenPipeError:
            say("")  # drops the closed output

    def _broker_line(self, name: str, address: str) -> str:
        broker = next((b for b in self.brokers if b.name == name), None)
        return f"{address} ({broker.kind}, embedded)" if broker else f"{address} (given)"

    # -- watching ----------------------------------------------------------------------
    def watch(self, stopping) -> None:
        """One line per CP state change, per ticket and per process that exits; a driver
        that finished its round starts another."""
        seen: dict[str, str] = {}
        tickets: set[str] = set()
        while not stopping():
            for name, code in self.network.exited():
                if name in self.drivers and code == 0:
                    say(f"driver {name} finished round {self.rounds[name]}: starting another")
                    self._start_driver(name)
                else:
                    say(f"process {name} exited with code {code}; its log: "
                        f"{self.network.logs / (name + '.log')}")
            for cp in get(self.url + "api/cps") or []:
                if seen.get(cp["id"]) != cp["state"]:
                    seen[cp["id"]] = cp["state"]
                    driver = f"  driver {cp['driver_id']}" if cp.get("driver_id") else ""
                    say(f"{cp['id']:8} {cp['state']}{driver}")
            for session in get(self.url + "api/sessions") or []:
                if session.get("status") == "ended" and session["id"] not in tickets:
                    tickets.add(session["id"])
                    who = driver_or_ad_hoc(session.get("driver_id"))
                    say(f"{session['cp_id']:8} ticket for {who}: {session['kwh']} kWh, "
                        f"{session['eur']} EUR ({session['reason']})")
            time.sleep(WATCH_EVERY_S)


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None

