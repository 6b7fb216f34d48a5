"""The dashboard in Debian's headless Chromium (Playwright): tiles change live over SSE."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from cloud.central.app import create_app
from tests.support import free_port
from tests.unit.central.conftest import TOKEN, populated_fake

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RED = "rgb(185, 28, 28)"
GREEN = "rgb(21, 128, 61)"
ORANGE = "rgb(194, 65, 12)"


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def fleet():
    return populated_fake()


@pytest.fixture
def central(fleet, tmp_path):
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "DB": str(tmp_path / "c.db"),
                      "SSE_KEEPALIVE": 1.0})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def background(page, selector: str) -> str:
    return page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor")


def test_tile_turns_red_live_when_a_cp_breaks_down(browser, central, fleet, output_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(central)
    page.wait_for_selector("body[data-live='yes']")
    assert page.get_attribute("#cp-CP1", "data-state") == "ACTIVATED"
    page.wait_for_function(
        f"getComputedStyle(document.querySelector('#cp-CP1')).backgroundColor === '{GREEN}'")

    fleet.put("CP1", state="BROKEN")
    page.wait_for_selector("#cp-CP1[data-state='BROKEN']", timeout=5000)
    page.wait_for_function(
        f"getComputedStyle(document.querySelector('#cp-CP1')).backgroundColor === '{RED}'")
    assert page.inner_text("#cp-CP1 .tile-state") == "Broken down"

    fleet.put("CP3", state="AUTHORIZED", driver_id="D8")
    fleet.say("CP1 engine KO: supply ended", cp_id="CP1", level="error")
    fleet.set_requests([{"session_id": "s-9", "cp_id": "CP3", "driver_id": "D8",
                         "source": "driver", "since": "2026-01-02T10:01:00.000Z"}])
    page.wait_for_selector("#cp-CP3[data-state='AUTHORIZED']")
    assert "Waiting for vehicle" in page.inner_text("#cp-CP3")
    page.wait_for_selector("#messages >> text=CP1 engine KO: supply ended")
    page.wait_for_selector("#requests >> text=D8")
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)


def test_stop_button_sends_the_token_and_errors_show(browser, central, fleet, output_dir):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(central)
    page.wait_for_selector("body[data-live='yes']")

    page.click("#cp-CP1 button[data-action='stop']")
    page.wait_for_selector("#notice:not([hidden]) >> text=admin token")
    assert fleet.cp("CP1")["state"] == "ACTIVATED"

    page.fill("#token-input", "wrong-token")
    page.click("#token-form button[type='submit']")
    page.click("#cp-CP1 button[data-action='stop']")
    page.wait_for_selector("#notice:not([hidden]) >> text=rejected")
    assert fleet.cp("CP1")["state"] == "ACTIVATED"

    page.fill("#token-input", TOKEN)
    page.click("#token-form button[type='submit']")
    page.click("#cp-CP1 button[data-action='stop']")
    page.wait_for_selector("#cp-CP1[data-state='STOPPED']")
    assert background(page, "#cp-CP1") == ORANGE
    assert page.inner_text("#cp-CP1 .tile-state") == "Out of order"
    assert fleet.audit[-1][1:] == ("stop", "CP1")
    page.screenshot(path=str(output_dir / "dashboard-stopped.png"), full_page=True)


def test_banner_shows_while_the_stream_is_down(browser, fleet, tmp_path):
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "SSE_KEEPALIVE": 0.2})
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{port}")
    page.wait_for_selector("body[data-live='yes']")
    assert page.is_hidden("#conn-banner")

    server.shutdown()
    server.server_close()
    thread.join(5)
    page.wait_for_selector("#conn-banner", state="visible", timeout=10000)

    fleet.put("CP2", state="DISCONNECTED")
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.wait_for_selector("#conn-banner", state="hidden", timeout=15000)
        page.wait_for_selector("#cp-CP2[data-state='DISCONNECTED']")
    finally:
        page.close()
        server.shutdown()
        thread.join(5)
