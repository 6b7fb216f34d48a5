"""The dashboard in Debian's headless Chromium (Playwright): tiles change live over SSE."""

from __future__ import annotations

import multiprocessing
import re
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from cloud.central.app import create_app
from cloud.central.fleet import Fleet
from cloud.central.store import Store
from tests.support import free_port, served, wait_port
from tests.unit.central.conftest import CPS, TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.browser]

RED = "rgb(185, 28, 28)"
GREEN = "rgb(21, 128, 61)"
ORANGE = "rgb(194, 65, 12)"
GREY = "rgb(75, 85, 99)"


@pytest.fixture
def central(fleet):
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "DB": fleet.store.path,
                      "SSE_KEEPALIVE": 1.0})
    with served(app) as address:
        yield f"http://{address}"


def open_page(browser, url: str):
    """A page that fails the test on any script error."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-live='yes']")
    return page, errors


def wait_background(page, selector: str, colour: str) -> None:
    """Wait for the computed background colour (tiles fade between colours), of the
    node the selector finds at each poll (an update replaces a tile's node)."""
    page.wait_for_function(
        "([selector, colour]) => { const node = document.querySelector(selector);"
        " return node !== null && getComputedStyle(node).backgroundColor === colour; }",
        arg=[selector, colour], timeout=5000)


def test_tile_turns_red_live_when_a_cp_breaks_down(browser, central, site, output_dir):
    page, errors = open_page(browser, central)
    assert page.get_attribute("#cp-CP1", "data-state") == "ACTIVATED"
    wait_background(page, "#cp-CP1", GREEN)

    site.break_down("CP1")
    page.wait_for_selector("#cp-CP1[data-state='BROKEN']", timeout=5000)
    wait_background(page, "#cp-CP1", RED)
    assert page.inner_text("#cp-CP1 .tile-state") == "Broken down"

    page.wait_for_selector("#messages .level-error >> text=engine KO")

    site.authorize("CP3", "D8")
    page.wait_for_selector("#cp-CP3[data-state='AUTHORIZED']")
    assert "Waiting for vehicle" in page.inner_text("#cp-CP3")
    assert "D8" in page.inner_text("#cp-CP3")
    page.wait_for_selector("#requests >> text=D8")
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)
    assert errors == []

    site.disconnect("CP1")
    page.wait_for_selector("#cp-CP1[data-state='DISCONNECTED']")
    wait_background(page, "#cp-CP1", GREY)


def test_stop_button_sends_the_token_and_errors_show(browser, central, fleet, output_dir):
    page, errors = open_page(browser, central)

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
    wait_background(page, "#cp-CP1", ORANGE)
    assert page.inner_text("#cp-CP1 .tile-state") == "Out of order: stopped by admin"
    assert page.is_visible("#cp-CP1 button[data-action='resume']")  # the admin's reason
    assert fleet.store.audit_log(action="stop")[0]["cp_id"] == "CP1"
    page.screenshot(path=str(output_dir / "dashboard-stopped.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[data-action='stop-all']")
    for cp_id in ("CP2", "CP3"):
        page.wait_for_selector(f"#cp-{cp_id}[data-state='STOPPED']")
    page.click("button[data-action='resume-all']")
    page.wait_for_selector("#cp-CP3[data-state='ACTIVATED']")
    assert errors == []


def run_central(db: str, port: int) -> None:
    """A whole Central HTTP side over ``db``, as a fresh process would run it."""
    fleet = Fleet(Store(db))
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "DB": db, "SSE_KEEPALIVE": 0.5})
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def start_central(db: Path, port: int):
    process = multiprocessing.get_context("spawn").Process(
        target=run_central, args=(str(db), port), daemon=True)
    process.start()
    wait_port(port)
    return process


def test_banner_shows_while_central_restarts(browser, tmp_path):
    db = tmp_path / "central.db"
    store = Store(str(db))
    for cp_id, location, price in CPS:
        store.add_cp(cp_id, location, price)
    port = free_port()
    central = start_central(db, port)
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}")
        page.wait_for_selector("body[data-live='yes']")
        assert page.is_hidden("#conn-banner")
        assert page.locator(".tile").count() == 3

        central.kill()
        central.join(5)
        page.wait_for_selector("#conn-banner", state="visible", timeout=10000)

        store.add_cp("CP4", "Registered while Central was down", "0.50")
        central = start_central(db, port)
        page.wait_for_selector("#conn-banner", state="hidden", timeout=15000)
        page.wait_for_selector("#cp-CP4[data-state='DISCONNECTED']")
    finally:
        page.close()
        central.kill()
        central.join(5)
        store.close()


def test_kafka_banner_and_live_figures(browser, central, fleet, output_dir):
    from protocol.data import Telemetry

    page, errors = open_page(browser, central)
    assert page.is_hidden("#degraded")
    fleet.set_kafka(False, "kafka.example:9092")
    page.wait_for_selector("#degraded", state="visible", timeout=5000)
    assert page.inner_text("#degraded") == ("Kafka unreachable at kafka.example:9092: live "
                                            "telemetry and driver requests paused")
    fleet.on_telemetry(Telemetry(cp_id="CP2", session_id=fleet.cp("CP2")["session_id"], kw="7.4",
                                 kwh="1.250", eur="0.50", price_eur_kwh="0.40", driver_id="D7"))
    page.wait_for_selector("#cp-CP2 .tile-kwh >> text=1.250 kWh")
    assert page.inner_text("#cp-CP2 .tile-kw") == "7.4 kW"
    assert page.inner_text("#cp-CP2 .tile-eur") == "0.50 €"
    page.screenshot(path=str(output_dir / "dashboard-degraded.png"), full_page=True)
    fleet.set_kafka(True, "kafka.example:9092")
    page.wait_for_selector("#degraded", state="hidden", timeout=5000)
    assert errors == []


def test_tiles_offer_only_the_action_that_applies(browser, central, fleet, site, output_dir):
    page, errors = open_page(browser, central)
    page.fill("#token-input", TOKEN)
    page.click("#token-form button[type='submit']")

    def actions(cp_id: str) -> list[str]:
        return page.eval_on_selector_all(
            f"#cp-{cp_id} button[data-action]", "buttons => buttons.map(b => b.dataset.action)")

    assert [actions(cp) for cp in ("CP1", "CP2", "CP3")] == [["stop"]] * 3
    page.click("#cp-CP1 button[data-action='stop']")
    page.wait_for_selector("#cp-CP1[data-state='STOPPED'] button[data-action='resume']")
    assert actions("CP1") == ["resume"]

    fleet.stop("CP3", actor="elsewhere")  # another operator: the tile follows over SSE
    page.wait_for_selector("#cp-CP3[data-state='STOPPED'] button[data-action='resume']")
    site.disconnect("CP3")
    page.wait_for_selector("#cp-CP3[data-state='DISCONNECTED']")
    assert actions("CP3") == ["resume"]
    assert "stays out of order until resumed" in page.inner_text("#cp-CP3")
    page.screenshot(path=str(output_dir / "dashboard-actions.png"), full_page=True)

    page.click("button[data-action='resume-all']")
    page.wait_for_selector("#cp-CP1[data-state='ACTIVATED'] button[data-action='stop']")
    page.wait_for_selector("#cp-CP3 button[data-action='stop']")
    assert actions("CP3") == ["stop"] and actions("CP2") == ["stop"]
    resumed = [m["cp_id"] for m in fleet.messages(50) if m["text"].startswith("resumed by")]
    assert resumed == ["CP1", "CP3"]  # CP2 was never stopped: no message for it
    assert errors == []


def test_power_chart_shows_the_last_hour_and_draws_new_samples(browser, central, fleet,
                                                                output_dir):
    from protocol.data import Telemetry

    now = time.time()
    for seconds in range(600, 0, -5):  # ten minutes before the page was opened
        fleet.sample_power(now - seconds)
    page, errors = open_page(browser, central)
    page.wait_for_selector("#power-chart[data-points='120']")
    assert page.inner_text("#power-now") == "0 kW now"
    labels = page.eval_on_selector_all("#power-chart text", "ts => ts.map(t => t.textContent)")
    assert "kW" in labels and "time (UTC), last 60 minutes" in labels
    assert sum(1 for label in labels if re.fullmatch(r"\d\d:\d0", label)) >= 5

    session_id = fleet.cp("CP2")["session_id"]
    fleet.on_telemetry(Telemetry(cp_id="CP2", session_id=session_id, kw="7.4", kwh="0.5",
                                 eur="0.20", price_eur_kwh="0.40", driver_id="D7"))
    fleet.sample_power(now)
    page.wait_for_selector("#power-chart[data-points='121'][data-kw='7.4']")
    assert page.inner_text("#power-now") == "7.4 kW now"
    page.wait_for_function(
        "() => document.querySelector('#power-chart .power-line').getTotalLength() > 100")
    page.screenshot(path=str(output_dir / "dashboard-power.png"), full_page=True)
    fleet.on_telemetry(Telemetry(cp_id="CP2", session_id=session_id, kw="22", kwh="0.6",
                                 eur="0.24", price_eur_kwh="0.40", driver_id="D7"))
    fleet.sample_power(now + 5)
    page.wait_for_selector("#power-chart[data-points='122'][data-kw='22']")
    assert "25" in page.eval_on_selector_all(
        "#power-chart .tick-kw", "ts => ts.map(t => t.textContent)")  # the scale grew
    assert errors == []


def test_a_supply_started_at_the_cp_shows_ad_hoc_live(browser, central, fleet, site):
    from protocol import messages as m

    page, errors = open_page(browser, central)
    assert fleet.on_supply_request(m.SupplyRequest(cp_id="CP1", source="button")) is None
    command = site.sent["CP1"][-1]
    assert isinstance(command, m.Command) and command.action == "authorize"
    site.heartbeat("CP1", state="authorized", session_id=command.session_id)
    page.wait_for_selector("#cp-CP1[data-state='AUTHORIZED']")
    assert page.inner_text("#cp-CP1 .tile-driver") == "ad hoc"
    page.wait_for_selector("#requests >> text=ad hoc")
    assert errors == []


def test_a_tile_says_live_why_a_cp_is_stopped(browser, central, fleet):
    from cloud.central.cpstate import StopReason

    page, errors = open_page(browser, central)
    fleet.stop("CP3", actor="weather office", reason=StopReason.WEATHER)
    page.wait_for_selector("#cp-CP3[data-state='STOPPED']")
    assert page.inner_text("#cp-CP3 .tile-state") == "Out of order: weather alert"
    assert page.is_visible("#cp-CP3 button[data-action='stop']")  # not the admin's stop
    fleet.stop("CP3", actor="alice")
    page.wait_for_selector("#cp-CP3 button[data-action='resume']")
    assert page.inner_text("#cp-CP3 .tile-state") == (
        "Out of order: stopped by admin, weather alert")
    fleet.resume("CP3", actor="bob")  # lifts the admin's stop only
    page.wait_for_selector("#cp-CP3 button[data-action='stop']")
    assert page.inner_text("#cp-CP3 .tile-state") == "Out of order: weather alert"
    assert errors == []


def test_revoke_key_takes_a_cp_out_of_service_and_a_new_login_brings_it_back(
        browser, central, fleet, site, output_dir):
    key = fleet.login("CP1", "10.0.0.9:51000").key
    page, errors = open_page(browser, central)
    page.wait_for_selector(f"#cp-CP1 .tile-key >> text={key.key_id}")
    assert page.is_disabled("#cp-CP3 button[data-revoke-key]")  # CP3 holds no key
    page.fill("#token-input", TOKEN)
    page.click("#token-form button[type='submit']")
    page.wait_for_selector("#audit >> text=key issued")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cp-CP1 button[data-revoke-key]")
    page.wait_for_selector("#cp-CP1[data-state='STOPPED']")
    wait_background(page, "#cp-CP1", ORANGE)
    assert page.inner_text("#cp-CP1 .tile-state") == "Out of order: key revoked"
    assert page.inner_text("#cp-CP1 .tile-key") == "revoked"
    page.wait_for_selector("#audit .audit-action >> text=key revoked")
    site.disconnect("CP1")  # Central closed its link: still out of order, not grey
    page.wait_for_selector("#cp-CP1 .tile-auth")
    time.sleep(0.3)
    assert page.get_attribute("#cp-CP1", "data-state") == "STOPPED"
    wait_background(page, "#cp-CP1", ORANGE)
    page.screenshot(path=str(output_dir / "dashboard-key-revoked.png"), full_page=True)

    fresh = fleet.login("CP1", "10.0.0.9:51001").key  # its monitor re-authenticates
    site.connect("CP1")
    page.wait_for_selector("#cp-CP1[data-state='ACTIVATED']")
    wait_background(page, "#cp-CP1", GREEN)
    page.wait_for_selector(f"#cp-CP1 .tile-key >> text={fresh.key_id}")
    assert key.secret.hex() not in page.content() and fresh.secret.hex() not in page.content()
    assert errors == []


def test_drivers_panel_shows_supplies_and_last_tickets_live(browser, central, fleet, site,
                                                           output_dir):
    page, errors = open_page(browser, central)
    page.wait_for_selector("#drivers tr[data-driver='D7'][data-status='supplying']")
    assert page.inner_text("#drivers tr[data-driver='D7'] .driver-session") == (
        "supplying at CP2 (Campus, parking B)")
    assert page.inner_text("#drivers tr[data-driver='D7'] .driver-ticket").startswith(
        "CP1 · 1.000 kWh")
    assert page.inner_text("#drivers tr[data-driver='D8'] .driver-session") == "—"
    page.screenshot(path=str(output_dir / "dashboard-drivers.png"), full_page=True)

    session_id = fleet.cp("CP2")["session_id"]
    site.end("CP2", session_id, "D7", kwh="3.000")  # the supply ends: a new last ticket
    page.wait_for_selector("#drivers tr[data-driver='D7'][data-status='idle']")
    page.wait_for_selector("#drivers tr[data-driver='D7'] .driver-ticket >> text=CP2 · 3.000 kWh")
    site.authorize("CP3", "D8")
    page.wait_for_selector("#drivers tr[data-driver='D8'][data-status='authorized']")
    assert "authorized at CP3" in page.inner_text("#drivers tr[data-driver='D8']")

    for n in range(10, 20):  # registered elsewhere: the panel pages, 10 drivers a page
        fleet.add_driver(f"D{n}")
    page.wait_for_selector("#drivers-pager:not([hidden])")
    assert page.inner_text("#drivers-page") == "1–10 of 12"
    page.click("#drivers-next")
    page.wait_for_selector("#drivers tr[data-driver='D8']")
    assert page.inner_text("#drivers-page") == "11–12 of 12"
    assert errors == []


def test_errors_panel_shows_every_part_of_the_network_live(browser, central, fleet, site,
                                                          output_dir):
    page, errors = open_page(browser, central)
    page.wait_for_selector("#errors .empty >> text=No errors")

    site.break_down("CP1")
    page.wait_for_selector("#errors-now .error-now[data-part='cp'] >> text=1 CP broken down: CP1")
    page.wait_for_selector("#errors .error-row[data-part='cp'] >> text=broken down")
    fleet.on_key_mismatch("CP3", "kafka cp.events[0]@9", "key 'k-9' is not a key of 'CP3'",
                          "data")
    page.wait_for_selector("#errors .error-row[data-part='keys'] >> text=is not a key of 'CP3'")
    fleet.on_refused_input("CP2", "bridge evcharging/cp/CP2/events", "payload is not JSON")
    page.wait_for_selector(
        "#errors .error-row[data-part='bridge'] >> text=dead-lettered by the bridge")
    fleet.set_weather({"status": "bad API key", "since": None, "locations": [],
                       "received_at": fleet.wallclock()})
    page.wait_for_selector("#errors-now .error-now[data-part='weather'] >> text=bad API key")
    page.wait_for_selector("#errors .error-row[data-part='weather'] >> text=weather: bad API key")
    page.screenshot(path=str(output_dir / "dashboard-errors.png"), full_page=True)

    site.connect("CP1")  # back: no longer an ongoing problem, still in the list
    fleet.set_weather({"status": "ok", "since": None, "locations": [],
                       "received_at": fleet.wallclock()})
    page.wait_for_function("() => !document.querySelector('#errors-now .error-now')")
    assert page.locator("#errors .error-row").count() == 4
    assert errors == []


@pytest.fixture
def paged_central(fleet):
    """The dashboard at two tiles a page (three CPs: two pages)."""
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "SSE_KEEPALIVE": 1.0,
                      "DASHBOARD_PAGE": 2})
    with served(app) as address:
        yield f"http://{address}"


def tile_ids(page) -> list[str]:
    return page.eval_on_selector_all("#tiles .tile", "ts => ts.map(t => t.id.slice(3))")


def test_tiles_come_a_page_at_a_time_filtered_and_stay_live(browser, paged_central, fleet,
                                                            site, output_dir):
    page, errors = open_page(browser, paged_central)
    assert tile_ids(page) == ["CP1", "CP2"]
    assert page.inner_text("#cp-page") == "1–2 of 3"
    assert page.inner_text("#summary").startswith("3 charging points · 1 supplying")
    page.click("#cp-next")
    page.wait_for_selector("#cp-page >> text=3–3 of 3")
    assert tile_ids(page) == ["CP3"]
    site.break_down("CP3")  # live on the second page too
    page.wait_for_selector("#cp-CP3[data-state='BROKEN']")
    page.wait_for_selector("#summary >> text=1 broken down")

    page.fill("#cp-filter", "campus")
    page.wait_for_selector("#cp-page >> text=1–1 of 1")
    assert tile_ids(page) == ["CP2"]
    page.fill("#cp-filter", "")
    page.select_option("#cp-state", "BROKEN")
    page.wait_for_function("() => document.querySelectorAll('#tiles .tile').length === 1 "
                           "&& document.querySelector('#tiles .tile').id === 'cp-CP3'")
    site.break_down("CP1")  # a CP entering the filter appears
    page.wait_for_selector("#cp-CP1[data-state='BROKEN']")
    assert tile_ids(page) == ["CP1", "CP3"]
    page.screenshot(path=str(output_dir / "dashboard-pages.png"), full_page=True)
    site.connect("CP3")  # one leaving it goes
    page.wait_for_function("() => !document.querySelector('#cp-CP3')")
    assert tile_ids(page) == ["CP1"]

    page.select_option("#cp-state", "")
    page.wait_for_selector("#cp-page >> text=1–2 of 3")
    fleet.deregister_cp("CP1", "admin@test")  # deregistered: its tile goes, CP3 moves up
    page.wait_for_selector("#cp-page >> text=1–2 of 2")
    assert tile_ids(page) == ["CP2", "CP3"]
    page.wait_for_selector("#summary >> text=2 charging points")
    assert errors == []


@pytest.fixture
def big_central(tmp_path):
    """Central's HTTP side over 10,000 registered CPs (one connected: CP00007)."""
    from protocol import auth
    from tests.unit.central.conftest import Site

    store = Store(str(tmp_path / "central.db"))
    key = auth.secret_key("a secret nobody uses").hex()
    store.db["cps"].insert_all(
        {"id": f"CP{n:05}", "location": f"Town {n % 100}", "price_eur_kwh": "0.30",
         "secret_key": key, "stop_reasons": "", "created_at": "2026-01-01T00:00:00Z"}
        for n in range(10000))
    fleet = Fleet(store)
    site = Site(fleet)
    site.connect("CP00007")
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "SSE_KEEPALIVE": 1.0})
    with served(app) as address:
        yield f"http://{address}", site
    store.close()


def test_ten_thousand_cps_are_one_page_of_tiles_and_stay_live(browser, big_central,
                                                              output_dir):
    url, site = big_central
    started = time.monotonic()
    page, errors = open_page(browser, url)
    page.wait_for_selector("#cp-page >> text=1–48 of 10000")
    assert time.monotonic() - started < 5
    assert page.locator("#tiles .tile").count() == 48
    assert page.inner_text("#summary") == "10000 charging points · 9999 disconnected"

    site.break_down("CP00007")  # on the page shown: its tile follows
    page.wait_for_selector("#cp-CP00007[data-state='BROKEN']")
    page.wait_for_selector("#summary >> text=1 broken down")
    page.click("#cp-next")
    page.wait_for_selector("#cp-page >> text=49–96 of 10000")
    assert tile_ids(page)[0] == "CP00048"
    page.fill("#cp-filter", "cp09999")
    page.wait_for_selector("#cp-page >> text=1–1 of 1")
    assert tile_ids(page) == ["CP09999"]
    page.fill("#cp-filter", "town 7")  # a location: Town 7, 70..79 -> 1,100 CPs
    page.wait_for_selector("#cp-page >> text=1–48 of 1100")
    page.screenshot(path=str(output_dir / "dashboard-10000.png"))
    assert errors == []
