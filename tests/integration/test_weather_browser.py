"""The dashboard's weather in Debian's headless Chromium (Playwright): the weather office
calls Central's real HTTP API with its service token; the tile of a CP under alert stays
green while its supply goes on and turns orange with its reason once it ends."""

from __future__ import annotations

import json
import urllib.request

import pytest

from cloud.central.app import create_app
from tests.support import served
from tests.unit.central.conftest import TOKEN

from .test_dashboard_browser import GREEN, ORANGE, open_page, wait_background

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SERVICE = "weather-office-service-token"
COLD = {"temperature_c": "-3.2", "threshold_c": "0", "observed_at": "2026-01-02T09:59:58Z"}


@pytest.fixture
def central(fleet):
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "WEATHER_TOKEN": SERVICE,
                      "SSE_KEEPALIVE": 1.0})
    with served(app) as address:
        yield f"http://{address}"


def office(url: str, method: str, path: str, body: object = None) -> int:
    """One call of the weather office (its service token as bearer)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {SERVICE}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def report(status: str, temperature: str | None, alert: bool) -> dict:
    return {"status": status, "since": "2026-01-02T10:42:00Z", "locations": [
        {"location": "Campus", "temperature_c": temperature,
         "observed_at": "2026-01-02T10:42:00Z" if temperature else None, "alert": alert,
         "error": None if temperature else "provider unreachable since 10:42"}]}


def test_a_weather_alert_turns_a_tile_orange_after_its_supply_ends(
        browser, central, fleet, site, output_dir):
    page, errors = open_page(browser, central)
    page.wait_for_selector("#weather-status >> text=no report from the weather office")
    # CP2 ("Campus, parking B") supplies D7; the office freezes Campus
    assert page.get_attribute("#cp-CP2", "data-state") == "SUPPLYING"
    assert office(central, "PUT", "/api/alerts/Campus", COLD) == 201
    assert office(central, "PUT", "/api/weather", report("ok", "-3.2", True)) == 200
    page.wait_for_selector("#alerts .alert-item[data-location='Campus']")
    assert "-3.2 °C (below 0 °C)" in page.inner_text("#alerts")
    page.wait_for_selector("#cp-CP2 .tile-weather[data-alert='yes']")
    assert page.inner_text("#cp-CP2 .tile-weather") == "-3.2 °C · weather alert (below 0 °C)"
    page.wait_for_selector("#weather-status >> text=weather: ok, last report")
    # the supply goes on: still green, and the tile says what comes after it
    assert page.get_attribute("#cp-CP2", "data-state") == "SUPPLYING"
    wait_background(page, "#cp-CP2", GREEN)
    page.wait_for_selector("#cp-CP2 .tile-note >> text=Out of order once back: weather alert")
    assert page.is_hidden("#cp-CP1 .tile-weather")  # Alicante is not watched
    page.screenshot(path=str(output_dir / "weather-alert-supplying.png"), full_page=True)

    site.end("CP2", fleet.cp("CP2")["session_id"], "D7")
    page.wait_for_selector("#cp-CP2[data-state='STOPPED']")
    wait_background(page, "#cp-CP2", ORANGE)
    assert page.inner_text("#cp-CP2 .tile-state") == "Out of order: weather alert"
    assert [m.action for m in site.sent["CP2"][-1:]] == ["stop"]
    # the office loses its provider: its status says since when
    office(central, "PUT", "/api/weather", report("provider unreachable since 10:42", None,
                                                  True))
    page.wait_for_selector("#weather-status >> text=weather: provider unreachable since 10:42")
    page.screenshot(path=str(output_dir / "weather-alert-stopped.png"), full_page=True)

    assert office(central, "DELETE", "/api/alerts/Campus") == 200
    page.wait_for_selector("#cp-CP2[data-state='ACTIVATED']")
    page.wait_for_selector("#alerts >> text=No weather alerts")
    assert errors == []
