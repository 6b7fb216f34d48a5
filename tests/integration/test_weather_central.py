"""The real ``ev-weather`` (sim provider) against the real ``ev-central``, with real CPs
(``ev-cp-e`` + ``ev-cp-m`` processes): a freeze during a supply lets it end normally,
then the CP is out of service; an admin stop and a weather alert are independent."""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
import urllib.request

import pytest

from tests.support import wait_for

from .conftest import LiveNetwork, start_supply

pytestmark = pytest.mark.integration


class Weather:
    """The network, with Central knowing a weather service token and an ``ev-weather
    --provider sim`` process watching every CP's city."""

    def __init__(self, live: LiveNetwork) -> None:
        self.live = live
        work = live.net.workdir
        self.token_file = work / "weather-token"
        self.token_file.write_text(secrets.token_urlsafe(16) + "\n")
        self.locations = work / "locations"
        self.locations.write_text("".join(f"{cp.location}\n" for cp in live.cps))
        self.sim_file = work / "weather-sim.json"
        live.central_args = ["--weather-token-file", str(self.token_file)]

    def start(self, name: str = "weather", token_file=None) -> None:
        self.live.net.start(name, [
            "ev-weather", "--central", self.live.url, "--token-file",
            str(token_file or self.token_file), "--locations", str(self.locations),
            "--provider", "sim", "--sim-file", str(self.sim_file), "--every", "0.2"])

    def set(self, city: str, temperature: str) -> None:
        self.live.net.run(["ev-weather", "set", city, temperature, "--sim-file",
                           str(self.sim_file)])

    def alerts(self) -> list[str]:
        return [alert["location"] for alert in self.live.get("/api/alerts")]

    def reasons(self, cp_id: str) -> list[str]:
        return self.live.get(f"/api/cps/{cp_id}")["stop_reasons"]


@pytest.fixture
def weather(tmp_path_factory):
    live = LiveNetwork(tmp_path_factory.mktemp("net"), 2)  # MAD-01 Madrid, LIS-01 Lisbon
    office = Weather(live)
    live.start_central()
    live.start_cps()
    for cp in live.cps:
        live.wait_state(cp.cp_id, "ACTIVATED", 20)
    office.start()
    wait_for(lambda: live.get("/api/weather") is not None, 15)
    yield office
    live.stop()


def audit(live: LiveNetwork, action: str) -> list[dict]:
    query = urllib.parse.urlencode({"action": action})
    request = urllib.request.Request(f"{live.url}/api/audit?{query}",
                                     headers={"Authorization": f"Bearer {live.token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def test_a_freeze_during_a_supply_lets_it_end_normally_then_the_cp_is_stopped(weather):
    live = weather.live
    mad, lis = live.cps
    report = live.get("/api/weather")
    assert report["status"] and {x["location"] for x in report["locations"]} == {
        "Madrid", "Lisbon"}
    session_id = start_supply(live, mad)

    weather.set("Madrid", "-3")
    wait_for(lambda: weather.alerts() == ["Madrid"], 10)
    assert weather.reasons(mad.cp_id) == ["weather"]
    wait_for(lambda: any(x["location"] == "Madrid" and x["alert"]
                         for x in live.get("/api/weather")["locations"]), 10)
    # the supply goes on: still SUPPLYING, the engine still charging
    until = time.monotonic() + 1.0  # five rounds of the office
    while time.monotonic() < until:
        assert live.state(mad.cp_id) == "SUPPLYING"
        time.sleep(0.1)
    assert live.panel(mad, "status")["state"] == "supplying"
    assert live.state(lis.cp_id) == "ACTIVATED" and weather.reasons(lis.cp_id) == []

    live.panel(mad, "press", "plug")  # the driver unplugs: the supply ends normally
    live.wait_state(mad.cp_id, "STOPPED")
    ended = [s for s in live.get(f"/api/sessions?cp_id={mad.cp_id}") if s["id"] == session_id]
    assert ended[0]["status"] == "ended" and ended[0]["reason"] == "unplugged"
    wait_for(lambda: live.panel(mad, "status")["state"] == "stopped", 10)

    weather.set("Madrid", "8")
    live.wait_state(mad.cp_id, "ACTIVATED")
    assert weather.alerts() == [] and weather.reasons(mad.cp_id) == []
    wait_for(lambda: live.panel(mad, "status")["state"] == "available", 10)
    [raised] = audit(live, "weather alert raised")
    assert raised["actor"] == "service" and raised["params"]["cp_ids"] == [mad.cp_id]
    assert raised["params"]["temperature_c"] == "-3"
    assert len(audit(live, "weather alert cleared")) == 1
    assert "Traceback" not in live.log("weather") + live.log("central")


def test_an_admin_stop_and_a_weather_alert_are_independent(weather):
    live = weather.live
    lis = live.cps[1]
    live.post(f"/api/cps/{lis.cp_id}/stop")
    weather.set("Lisbon", "-1.5")
    wait_for(lambda: weather.reasons(lis.cp_id) == ["admin", "weather"], 10)
    live.post(f"/api/cps/{lis.cp_id}/resume")  # the admin's stop only
    assert weather.reasons(lis.cp_id) == ["weather"] and live.state(lis.cp_id) == "STOPPED"
    live.post(f"/api/cps/{lis.cp_id}/stop")
    weather.set("Lisbon", "3")
    wait_for(lambda: weather.reasons(lis.cp_id) == ["admin"], 10)
    assert live.state(lis.cp_id) == "STOPPED"  # the admin's stop holds it
    live.post(f"/api/cps/{lis.cp_id}/resume")
    live.wait_state(lis.cp_id, "ACTIVATED")
    assert live.panel(lis, "status")["state"] in ("available", "stopped")
    wait_for(lambda: live.panel(lis, "status")["state"] == "available", 10)


def test_an_office_with_the_admin_token_is_refused(weather):
    live = weather.live
    admin_token = live.net.workdir / "admin-token"
    admin_token.write_text(live.token + "\n")
    weather.set("Madrid", "-9")  # the real office raises it
    wait_for(lambda: weather.alerts() == ["Madrid"], 10)
    weather.start("impostor", admin_token)
    wait_for(lambda: "refuses the service token (HTTP 403)" in live.log("impostor"), 10)
    refused = [r for r in audit(live, "auth failed")
               if r["params"].get("reason") == "the admin token is not the weather service token"]
    assert refused and refused[0]["actor"] == "service"
    assert live.token not in json.dumps(audit(live, "auth failed"))
