"""A real ``ev-weather`` process against a local server that answers like OpenWeather
and a fake Central (both real HTTP servers on loopback, see weather_fakes.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import BIN, free_port, spawn, wait_for

from .weather_fakes import FakeCentral, FakeOpenWeather

pytestmark = pytest.mark.integration

KEY = "k3y-5ecret-0f-the-office-1234567890"
TOKEN = "weather-service-token-abcdef"


class Office:
    """One ``ev-weather`` process and its log."""

    def __init__(self, tmp: Path, central: FakeCentral, args: list[str], **env: str) -> None:
        self.log_path = tmp / "weather.log"
        self.proc = spawn(["ev-weather", "--central", central.url, "--token-file",
                           str(tmp / "token"), "--locations", str(tmp / "locations"),
                           "--every", "0.2", *args], self.log_path, **env)

    def log(self) -> str:
        return self.log_path.read_text()

    def lines(self, text: str) -> list[str]:
        return [line for line in self.log().splitlines() if text in line]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise


@pytest.fixture
def place(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "key").write_text(KEY + "\n")
    (tmp_path / "locations").write_text("# watched\nMadrid\nOslo\n")
    return tmp_path


@pytest.fixture
def central():
    fake = FakeCentral(free_port(), TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def provider():
    fake = FakeOpenWeather(free_port(), KEY, {"Madrid": 14.5, "Oslo": 3.0})
    yield fake
    fake.close()


@pytest.fixture
def offices():
    started: list[Office] = []
    yield started
    for office in started:
        if office.proc.poll() is None:
            office.proc.kill()
            office.proc.wait(5)


def openweather(place, central, provider, offices, *extra: str, **env: str) -> Office:
    office = Office(place, central, ["--api-key-file", str(place / "key"), "--provider-url",
                                     provider.url, *extra], **env)
    offices.append(office)
    return office


def reported(central: FakeCentral, location: str) -> dict | None:
    with central.lock:
        weather = central.weather
    for entry in (weather or {}).get("locations", []):
        if entry["location"] == location:
            return entry
    return None


def test_freeze_raises_and_thaw_clears(place, central, provider, offices):
    office = openweather(place, central, provider, offices)
    wait_for(lambda: (reported(central, "Oslo") or {}).get("temperature_c") == "3")
    assert central.calls("PUT") == [] and central.alerts == {}
    provider.set("Oslo", -3.25)
    wait_for(lambda: "Oslo" in central.alerts)
    (path, body), = central.calls("PUT")
    assert path == "/api/alerts/Oslo"
    assert body["temperature_c"] == "-3.25" and body["threshold_c"] == "0"
    assert body["observed_at"].endswith("Z")
    wait_for(lambda: (reported(central, "Oslo") or {}).get("alert") is True)
    assert central.weather["status"] == "ok"
    provider.set("Oslo", 0)  # at the threshold: cleared
    wait_for(lambda: central.calls("DELETE"))
    assert central.calls("DELETE") == [("/api/alerts/Oslo", None)]
    wait_for(lambda: len(provider.requests) > 12)
    assert len(central.calls("PUT")) == 1 and len(central.calls("DELETE")) == 1  # not again
    assert office.stop() == 0
    log = office.log()
    assert len(office.lines("alert raised for Oslo: -3.25 C")) == 1
    assert len(office.lines("alert cleared for Oslo: 0 C")) == 1
    assert KEY not in log and "Traceback" not in log
    assert "stopping on SIGTERM" in log


def test_provider_down_neither_raises_nor_clears(place, central, provider, offices):
    provider.set("Oslo", -5)
    office = openweather(place, central, provider, offices)
    wait_for(lambda: "Oslo" in central.alerts)
    provider.down()
    provider.set("Oslo", 5)
    provider.set("Madrid", -5)
    wait_for(lambda: "provider unreachable since" in (central.weather or {}).get("status", ""))
    entry = reported(central, "Oslo")
    assert entry["alert"] is True and entry["temperature_c"] == "-5"  # the last reading
    assert "provider unreachable" in entry["error"]
    since = central.weather["since"]
    calls = len(central.requests)
    wait_for(lambda: len(central.requests) >= calls + 3, timeout=5)  # status every round
    assert central.weather["since"] == since
    assert central.calls("DELETE") == [] and list(central.alerts) == ["Oslo"]
    assert len(office.lines("weather: provider unreachable since")) == 1
    provider.up()
    wait_for(lambda: "Madrid" in central.alerts and "Oslo" not in central.alerts, timeout=8)
    wait_for(lambda: office.lines("weather: ok (was: provider unreachable since"))
    wait_for(lambda: central.weather["status"] == "ok")  # reported after the line is logged
    assert office.stop() == 0
    assert KEY not in office.log() and "Traceback" not in office.log()


def test_bad_key_is_one_line_and_a_status(place, central, provider, offices):
    (place / "key").write_text("wrong-key\n")
    office = openweather(place, central, provider, offices)
    wait_for(lambda: (central.weather or {}).get("status") == "bad API key")
    wait_for(lambda: len(provider.requests) >= 6)
    assert len(office.lines("bad API key")) == 1
    assert reported(central, "Madrid")["error"] == "bad API key"
    assert central.calls("PUT") == [] and central.calls("DELETE") == []
    assert office.stop() == 0
    rounds = len(central.calls("PUT", "/api/weather"))
    assert len(provider.requests) <= rounds + 1  # one request a round, not one a location
    assert "wrong-key" not in office.log()


def test_unknown_city_is_one_line_and_a_status(place, central, provider, offices):
    (place / "locations").write_text("Madrid\nAtlantis\n")
    provider.set("Madrid", -1)
    office = openweather(place, central, provider, offices)
    wait_for(lambda: (central.weather or {}).get("status") == "unknown city Atlantis")
    wait_for(lambda: "Madrid" in central.alerts)  # the other city goes on
    wait_for(lambda: len(provider.requests) >= 10)
    assert len(office.lines("unknown city Atlantis")) == 1
    assert reported(central, "Atlantis") == {"location": "Atlantis", "temperature_c": None,
                                             "observed_at": None, "alert": False,
                                             "error": "unknown city Atlantis"}
    assert [p for p, _ in central.calls("PUT")] == ["/api/alerts/Madrid"]
    office.stop()


def test_sim_set_changes_what_the_office_sees(place, central, offices):
    sim = place / "sim.json"
    office = Office(place, central, ["--provider", "sim", "--sim-file", str(sim)])
    offices.append(office)
    wait_for(lambda: (reported(central, "Madrid") or {}).get("temperature_c") == "12")
    result = subprocess.run([str(BIN / "ev-weather"), "set", "Madrid", "-3", "--sim-file",
                             str(sim)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert "Madrid: -3 C" in result.stdout
    wait_for(lambda: "Madrid" in central.alerts)
    assert central.alerts["Madrid"]["temperature_c"] == "-3"
    bad = subprocess.run([str(BIN / "ev-weather"), "set", "Madrid", "freezing",
                          "--sim-file", str(sim)], capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    office.stop()


def test_locations_file_edited_on_disk_is_picked_up(place, central, provider, offices):
    provider.set("Oslo", -2)
    provider.set("Reykjavik", -7)
    office = openweather(place, central, provider, offices)
    wait_for(lambda: "Oslo" in central.alerts)
    (place / "locations").write_text("Madrid\nReykjavik\n")  # Oslo out, Reykjavik in
    wait_for(lambda: "Reykjavik" in central.alerts and "Oslo" not in central.alerts)
    # the lines may reach the log a moment after Central heard of the change
    wait_for(lambda: office.lines("location Reykjavik added") and office.lines(
        "location Oslo removed") and office.lines("alert cleared for Oslo: no longer watched"))
    wait_for(lambda: reported(central, "Oslo") is None)
    office.stop()


def test_a_restarted_office_does_not_raise_again(place, central, provider, offices):
    provider.set("Oslo", -2)
    central.alerts["Oslo"] = {"temperature_c": "-2", "raised_at": "2026-11-30T10:00:00Z"}
    office = openweather(place, central, provider, offices)
    wait_for(lambda: len(provider.requests) >= 8)
    assert central.calls("PUT") == []
    assert central.requests[0][:2] == ("GET", "/api/alerts")
    assert reported(central, "Oslo")["alert"] is True
    office.stop()


def test_central_away_and_a_refused_token(place, central, provider, offices):
    central.down()
    provider.set("Oslo", -4)
    office = openweather(place, central, provider, offices)
    wait_for(lambda: office.lines("cannot reach Central at"))
    wait_for(lambda: len(provider.requests) >= 6)
    central.alerts["Gone"] = {"temperature_c": "-1", "raised_at": "2026-11-30T09:00:00Z"}
    central.up()
    wait_for(lambda: "Oslo" in central.alerts)
    wait_for(lambda: "Gone" not in central.alerts)  # asked again once back: not watched
    wait_for(lambda: office.lines("is back"))
    assert len(office.lines("cannot reach Central at")) == 1
    central.token = "another-token"  # Central no longer knows ours
    provider.set("Oslo", 4)
    wait_for(lambda: office.lines("refuses the service token"))
    wait_for(lambda: len(central.calls("DELETE")) >= 3)  # retried every round
    assert len(office.lines("refuses the service token")) == 1
    central.token = TOKEN
    wait_for(lambda: "Oslo" not in central.alerts)
    assert office.stop() == 0
    assert TOKEN not in office.log() and "Traceback" not in office.log()


def test_location_names_are_percent_encoded(place, central, provider, offices):
    (place / "locations").write_text("São Paulo,BR\n")
    provider.set("São Paulo,BR", -1)
    office = openweather(place, central, provider, offices)
    wait_for(lambda: "São Paulo,BR" in central.alerts)
    with central.lock:
        raw = list(central.raw_paths)
    assert "/api/alerts/S%C3%A3o%20Paulo%2CBR" in raw
    office.stop()


def test_ready_watchdog_and_stopping_on_the_notify_socket(place, central, provider, offices):
    path = place / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.1)
        office = openweather(place, central, provider, offices, "--every", "2",
                             NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
        got: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and got.count("WATCHDOG=1") < 4:
            try:
                got.append(sock.recv(4096).decode())
            except TimeoutError:
                assert office.proc.poll() is None, office.log()
        assert any(text.startswith("READY=1") for text in got), got
        assert got.count("WATCHDOG=1") >= 4, got  # kicked between rounds 2 s apart
        assert office.stop() == 0
        while True:
            try:
                got.append(sock.recv(4096).decode())
            except TimeoutError:
                break
    assert any(text.startswith("STOPPING=1") for text in got), got
