"""The sessions page in Debian's headless Chromium: filters, totals and the CSV download."""

from __future__ import annotations

import csv

import pytest

from cloud.central.app import create_app
from cloud.central.session_report import COLUMNS
from protocol import messages as m
from tests.integration.test_dashboard_browser import open_page
from tests.support import served
from tests.unit.central.conftest import TOKEN, populate

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def ended(fleet, session_id: str, cp_id: str, driver_id: str, day: str, kwh: str,
          eur: str) -> None:
    fleet.on_supply_ended(m.SupplyEnded(
        cp_id=cp_id, session_id=session_id, started_at=f"{day}T08:00:00.000Z",
        ended_at=f"{day}T09:15:00.000Z", kwh=kwh, eur=eur, price_eur_kwh="0.30",
        reason="stopped by driver", driver_id=driver_id))


@pytest.fixture
def central(tmp_path):
    """Central's HTTP side over three CPs: supplies on 2 January (``populate``) and 5 January."""
    fleet, site, sessions = populate(tmp_path / "central.db")
    ended(fleet, "jan5-cp3", "CP3", "D8", "2026-01-05", "10.000", "3.00000")
    ended(fleet, "jan5-cp1", "CP1", "D7", "2026-01-05", "4.250", "1.48750")
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "SSE_KEEPALIVE": 1.0})
    with served(app) as address:
        yield f"http://{address}", sessions
    fleet.store.close()


def table(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#sessions tbody tr[data-session]",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")


def totals(page) -> tuple[str, str, str]:
    return (page.inner_text("#total-count"), page.inner_text("#total-kwh"),
            page.inner_text("#total-eur"))


def test_filter_sessions_and_download_them_as_csv(browser, central, output_dir):
    url, sessions = central
    page, errors = open_page(browser, url)
    page.click("#nav-sessions")
    page.wait_for_selector("#sessions")
    assert len(table(page)) == 5
    assert totals(page) == ("5", "17.250", "5.53750")
    assert "days and times are UTC" in page.inner_text("#filters-title")

    page.select_option("#filter-cp", "CP1")
    page.fill("#filter-day", "2026-01-05")
    page.click("#filters button[type='submit']")
    page.wait_for_url("**/sessions?cp_id=CP1*day=2026-01-05*")
    assert table(page) == [["CP1", "D7", "2026-01-05 08:00:00", "2026-01-05 09:15:00",
                            "1:15:00", "4.250", "1.48750", "ended", "stopped by driver"]]
    assert totals(page) == ("1", "4.250", "1.48750")

    page.select_option("#filter-cp", "")
    page.fill("#filter-day", "2026-01-02")
    page.fill("#filter-driver", "D7")
    page.click("#filters button[type='submit']")
    page.wait_for_url("**driver_id=D7*")
    rows = table(page)
    assert {(row[0], row[1], row[7]) for row in rows} == {("CP1", "D7", "ended"),
                                                         ("CP2", "D7", "supplying")}
    assert totals(page) == ("2", "1.000", "0.35000")
    page.screenshot(path=str(output_dir / "sessions.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#csv-link")
    assert download.value.suggested_filename == "sessions-D7-2026-01-02.csv"
    with open(download.value.path(), newline="", encoding="utf-8") as file:
        exported = list(csv.reader(file))
    assert exported[0] == list(COLUMNS)
    assert exported[1:] == [[cell.replace("—", "") for cell in row] for row in rows]

    page.click("#nav-dashboard")
    page.wait_for_selector("body[data-live='yes']")
    assert errors == []


def test_a_bad_filter_is_a_clear_400(browser, central):
    url, _ = central
    page = browser.new_page()
    response = page.goto(f"{url}/sessions?day=2026-02-30&cp_id=CP1")
    assert response.status == 400
    assert page.inner_text("#filter-error") == (
        "bad day '2026-02-30': expected a date YYYY-MM-DD (UTC)")
    assert page.input_value("#filter-cp") == "CP1"
    page.click("#filter-clear")
    page.wait_for_selector("#sessions")
    assert page.inner_text("#total-count") == "5"
    page.close()
