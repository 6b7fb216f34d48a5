"""The demo's OCPP 1.6J charger: our own charge point in OCPP mode (``ev-cp-e`` and
``ev-cp-m --ocpp``) connected to the demo Central's OCPP endpoint, as a charger bought off
the shelf would be.

It registers through the registry like every demo CP, and its OCPP password is the secret
the registry returned (HTTP Basic auth, user = its id).  Its engine has no MQTT uplink:
its records reach Central as StartTransaction, MeterValues and StopTransaction, not over
the data plane (as on a Pi whose monitor speaks OCPP).  A simulated vehicle plugs in after
each authorization, and the simulated drivers ask for it like for the other simulated CPs.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

from sim.fleet import SimulatedCP
from sim.network import Network, wait_port

OCPP_CP_ID, OCPP_CITY, OCPP_PRICE = "OCPP-01", "Barcelona", Decimal("0.32")
REAL_CHARGER = "ACME-07"  # the README's charger bought off the shelf
# MeterValues every 5 s (a charge point's default is 60): the demo's charges are short,
# and its tile should show live kW, kWh and EUR like the others.
SAMPLE_INTERVAL_S = 5
WILDCARDS = ("0.0.0.0", "::", "")  # every address of this machine


def ocpp_url(endpoint: tuple[str, int], cp_id: str) -> str:
    """The URL a charger connects to: the endpoint and its identity, the path's last part.
    (A wildcard address is reached through loopback here.)"""
    host = "127.0.0.1" if endpoint[0] in WILDCARDS else endpoint[0]
    return f"ws://{host}:{endpoint[1]}/ocpp/{cp_id}"


class DemoOcppCharger:
    def __init__(self, workdir: Path, endpoint: tuple[str, int], ports) -> None:
        self.endpoint = endpoint
        self.cp = SimulatedCP(OCPP_CP_ID, OCPP_CITY, OCPP_PRICE, next(ports), next(ports))
        self.state = workdir / "cps" / OCPP_CP_ID
        self.url = ocpp_url(endpoint, OCPP_CP_ID)

    def password_file(self, secrets_dir: Path) -> Path:
        """Where ``ev-cp-m register`` wrote its secret, which is its OCPP password."""
        return secrets_dir / f"{OCPP_CP_ID}.secret"

    def start(self, network: Network, secrets_dir: Path, *engine: str) -> None:
        """Its engine (no MQTT uplink; ``engine`` flags added) and its monitor, in OCPP
        mode, with the password from the registry."""
        self.state.mkdir(parents=True, exist_ok=True)
        address = f"127.0.0.1:{self.cp.engine_port}"
        name = f"{OCPP_CP_ID}-engine"
        process = network.start(name, [
            "ev-cp-e", "--cp-id", OCPP_CP_ID, "--listen", address,
            "--panel", f"127.0.0.1:{self.cp.panel_port}", "--state-dir", str(self.state),
            *engine])
        wait_port(self.cp.engine_port, 30, f"engine {OCPP_CP_ID}", process,
                  network.logs / f"{name}.log")
        network.start(f"{OCPP_CP_ID}-monitor", [
            "ev-cp-m", "--cp-id", OCPP_CP_ID, "--engine", address, "--ocpp", self.url,
            "--ocpp-password-file", str(self.password_file(secrets_dir)),
            "--state-dir", str(self.state / "monitor"), "--price", str(self.cp.price),
            "--location", self.cp.location])

    def configure(self, central_url: str, token: str) -> str:
        """Its ``MeterValueSampleInterval``, set as an operator would: ChangeConfiguration
        through Central's REST API.  Returns the charger's answer, or why there is none."""
        body = {"key": "MeterValueSampleInterval", "value": str(SAMPLE_INTERVAL_S)}
        call = urllib.request.Request(
            f"{central_url}api/cps/{OCPP_CP_ID}/ocpp/change_configuration",
            data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(call, timeout=40) as response:
                return json.load(response).get("status", "no status")
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return str(error)

    def guide(self, ev_cp_m: str, registry_flags: list[str], secrets_dir: Path) -> list[str]:
        """The printout's lines: the demo's OCPP charger, and how a real one connects."""
        port = self.endpoint[1]
        wide = self.endpoint[0] in WILDCARDS
        host = f"[{self.endpoint[0]}]" if ":" in self.endpoint[0] else self.endpoint[0]
        reach = ("" if wide else
                 f" (ev-sim --ocpp 0.0.0.0:{port} lets in chargers on your network)")
        return [
            f"OCPP 1.6J: Central's OCPP endpoint is ws://{host}:{port}/ocpp/<id>"
            f"{reach}",
            f"  {OCPP_CP_ID} is our charge point in OCPP mode (ev-cp-m --ocpp), simulated like "
            "the CPs above:",
            f"    URL {self.url}, identity {OCPP_CP_ID}, password file "
            f"{self.password_file(secrets_dir)} (the secret the registry returned)",
            f"    MeterValues every {SAMPLE_INTERVAL_S} s: the demo set its "
            f"MeterValueSampleInterval with POST /api/cps/{OCPP_CP_ID}/ocpp/change_configuration",
            f"  A real charger, {REAL_CHARGER}: register it (its password is the secret written "
            f"to {REAL_CHARGER}.secret),",
            f"    {ev_cp_m} register {' '.join(registry_flags)} --cp-id {REAL_CHARGER} "
            f"--location Madrid --price 0.35 --secret-file {REAL_CHARGER}.secret",
            f"    then set its central system URL to ws://THIS-HOST:{port}/ocpp/{REAL_CHARGER}, "
            f"identity {REAL_CHARGER}, password (AuthorizationKey) that secret",
        ]
