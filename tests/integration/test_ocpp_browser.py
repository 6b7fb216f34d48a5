"""An OCPP 1.6J charger on the dashboard, in Debian's headless Chromium (Playwright):
a real ``ev-central --ocpp`` process, a framed CP (real engine and monitor processes)
and a charger written with ``ocpp`` over a real WebSocket; the charger's tile sits
beside the framed CP's and turns red on Faulted, green again on Available, grey when
its connection closes, while the framed CP's stays green; its one breakdown is the one
error the dashboard lists."""

from __future__ import annotations

import pytest

from tests.integration.conftest import LiveNetwork
from tests.integration.ocpp_charger import Charger

from .test_dashboard_browser import GREEN, GREY, RED, open_page, wait_background

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHARGER = "ACME-07"


@pytest.fixture
def network(tmp_path_factory):
    """Central with an OCPP endpoint, one framed CP, and an OCPP charger registered."""
    live = LiveNetwork(tmp_path_factory.mktemp("net"), 1)
    ocpp = next(live.ports)
    live.central_args = ["--ocpp", f"127.0.0.1:{ocpp}"]
    out = live.net.run(["ev-central", "cp", "add", CHARGER, "--location", "Madrid",
                        "--price", "0.35", "--db", str(live.db)])
    live.ocpp_url = f"ws://127.0.0.1:{ocpp}/ocpp/"
    live.ocpp_secret = out.strip().splitlines()[-1]
    live.start_central()
    live.start_cps()
    live.wait_state(live.cps[0].cp_id, "ACTIVATED", 20)
    yield live
    live.stop()
    assert "Traceback" not in live.log("central")


def test_an_ocpp_charger_shows_beside_a_framed_cp_and_goes_red_on_faulted(
        browser, network, output_dir):
    framed = f"#cp-{network.cps[0].cp_id}"
    page, errors = open_page(browser, network.url)
    page.wait_for_selector("#errors .empty >> text=No errors")
    charger = Charger(network.ocpp_url, CHARGER, network.ocpp_secret)
    assert charger.refused is None
    try:
        charger.boot()
        charger.status("Available")
        page.wait_for_selector(f"#cp-{CHARGER}[data-state='ACTIVATED']", timeout=5000)
        wait_background(page, f"#cp-{CHARGER}", GREEN)
        wait_background(page, framed, GREEN)
        assert "Madrid" in page.inner_text(f"#cp-{CHARGER}")

        charger.status("Faulted", error_code="GroundFailure")
        page.wait_for_selector(f"#cp-{CHARGER}[data-state='BROKEN']", timeout=5000)
        wait_background(page, f"#cp-{CHARGER}", RED)
        assert page.inner_text(f"#cp-{CHARGER} .tile-state") == "Broken down"
        assert page.get_attribute(framed, "data-state") == "ACTIVATED"
        wait_background(page, framed, GREEN)
        # the Errors panel: this fault, and no breakdown when the charger connected
        page.wait_for_selector("#errors .error-row[data-part='cp'] >> text=broken down (was "
                               "ACTIVATED)")
        assert page.locator("#errors .error-row").count() == 1
        page.screenshot(path=str(output_dir / "ocpp-faulted.png"), full_page=True)

        charger.status("Available")
        page.wait_for_selector(f"#cp-{CHARGER}[data-state='ACTIVATED']", timeout=5000)
        wait_background(page, f"#cp-{CHARGER}", GREEN)
        page.screenshot(path=str(output_dir / "ocpp-available.png"), full_page=True)
    finally:
        charger.close()
    page.wait_for_selector(f"#cp-{CHARGER}[data-state='DISCONNECTED']", timeout=5000)
    wait_background(page, f"#cp-{CHARGER}", GREY)
    assert page.get_attribute(framed, "data-state") == "ACTIVATED"
    assert errors == []
