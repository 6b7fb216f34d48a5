"""The sessions page (/sessions) and its CSV export (/sessions.csv)."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest

from cloud.central.session_report import COLUMNS, PAGE_SIZE
from protocol import messages as m


class Page(HTMLParser):
    """The sessions table's rows (cell texts), the totals and the links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.ids: list[str] = []
        self.texts: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self._cell: list[str] | None = None
        self._id: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "tr" and "data-session" in attributes:
            self.ids.append(attributes["data-session"])
            self.rows.append([])
        elif tag == "td" and self.rows and len(self.ids) == len(self.rows):
            self._cell = []
        if tag == "a" and attributes.get("id"):
            self.links[attributes["id"]] = attributes["href"]
        if tag == "span" and attributes.get("id"):
            self._id = attributes["id"]

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tbody":
            self.ids.append("")  # no more rows
        if tag == "span":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._id:
            self.texts[self._id] = self.texts.get(self._id, "") + data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.ids = [x for x in page.ids if x]
    return page


def ended(fleet, session_id: str, cp_id: str, driver_id: str | None, day: str,
          kwh: str = "1.000", eur: str = "0.35", hour: int = 10) -> None:
    fleet.on_supply_ended(m.SupplyEnded(
        cp_id=cp_id, session_id=session_id, started_at=f"{day}T{hour:02d}:00:00.000Z",
        ended_at=f"{day}T{hour:02d}:45:30.000Z", kwh=kwh, eur=eur, price_eur_kwh="0.35",
        reason="unplugged", driver_id=driver_id))


def test_page_lists_sessions_with_totals(client, sessions):
    response = client.get("/sessions")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    page = parse(html)
    assert set(page.ids) == set(sessions.values())
    assert page.texts["total-count"] == "3"
    assert (page.texts["total-kwh"], page.texts["total-eur"]) == ("3.000", "1.05000")
    by_id = dict(zip(page.ids, page.rows, strict=True))
    assert by_id[sessions["CP1/D8"]] == ["CP1", "D8", "2026-01-02 09:00:00", "2026-01-02 09:30:00",
                                         "0:30:00", "2.000", "0.70000", "ended", "unplugged"]
    assert by_id[sessions["CP2/D7"]][:4] == ["CP2", "D7", "2026-01-02 10:00:00", "—"]
    assert by_id[sessions["CP2/D7"]][7] == "supplying"
    for heading in COLUMNS:
        assert f"<th scope=\"col\">{heading}</th>" in html
    assert "days and times are UTC" in html
    assert 'href="/"' in html  # back to the dashboard


@pytest.mark.parametrize(("query", "expected", "kwh"), [
    ("?cp_id=CP1", {"CP1/D8", "CP1/D7"}, "3.000"),
    ("?driver_id=D7", {"CP1/D7", "CP2/D7"}, "1.000"),
    ("?day=2026-01-02&cp_id=CP1&driver_id=D8", {"CP1/D8"}, "2.000"),
    ("?day=2026-01-05", {"x1"}, "4.5"),
    ("?cp_id=CP3&driver_id=D8&day=2026-01-02", set(), "0"),
])
def test_page_filters(client, fleet, sessions, query, expected, kwh):
    ended(fleet, "x1", "CP3", None, "2026-01-05", kwh="4.5", eur="1.35")
    page = parse(client.get(f"/sessions{query}").get_data(as_text=True))
    assert set(page.ids) == {sessions.get(key, key) for key in expected}
    assert page.texts["total-kwh"] == kwh
    csv_link = page.links["csv-link"]
    assert csv_link.startswith("/sessions.csv")
    for part in query.lstrip("?").split("&"):
        assert part in csv_link


def test_page_shows_the_filter_it_applied(client):
    html = client.get("/sessions?cp_id=CP2&driver_id=D7&day=2026-01-02").get_data(as_text=True)
    assert '<option value="CP2" selected>' in html
    assert 'value="D7"' in html and 'value="2026-01-02"' in html
    assert '<option value="D8">' in html  # the drivers the form suggests


def test_a_cp_started_supply_without_a_driver_id_is_ad_hoc(client, fleet):
    fleet.on_supply_started(m.SupplyStarted(
        cp_id="CP3", session_id="btn", started_at="2026-01-04T08:00:00.000Z",
        price_eur_kwh="0.30", driver_id=None))
    fleet.store.db["sessions"].update("btn", {"source": "button"})
    page = parse(client.get("/sessions?cp_id=CP3").get_data(as_text=True))
    assert page.rows == [["CP3", "ad hoc", "2026-01-04 08:00:00", "—", "—", "—", "—",
                          "supplying", "—"]]


def test_large_tables_are_paged_and_totals_cover_everything(client, fleet):
    count = 2 * PAGE_SIZE + 5
    for i in range(count):
        ended(fleet, f"x{i:04d}", "CP3", "D8", "2026-01-05", kwh="0.1", eur="0.01",
              hour=i % 24)
    first = parse(client.get("/sessions?cp_id=CP3").get_data(as_text=True))
    assert len(first.ids) == PAGE_SIZE
    assert first.texts["total-count"] == str(count)
    assert (first.texts["total-kwh"], first.texts["total-eur"]) == ("20.5", "2.05")
    assert "page-prev" not in first.links
    last = parse(client.get(first.links["page-next"].replace("page=2", "page=3"))
                 .get_data(as_text=True))
    assert len(last.ids) == 5 and "page-next" not in last.links
    assert last.texts["total-count"] == str(count)
    second = client.get(first.links["page-next"]).get_data(as_text=True)
    assert "cp_id=CP3" in first.links["page-next"]
    assert "showing 101–200 of 205" in second
    seen = set(first.ids) | set(parse(second).ids) | set(last.ids)
    assert len(seen) == count
    beyond = client.get("/sessions?cp_id=CP3&page=9")
    assert beyond.status_code == 200 and "No sessions on this page" in beyond.get_data(True)


@pytest.mark.parametrize(("query", "message"), [
    ("?day=2026-02-30", "bad day &#39;2026-02-30&#39;: expected a date YYYY-MM-DD (UTC)"),
    ("?day=02/01/2026", "bad day &#39;02/01/2026&#39;"),
    ("?cp_id=" + "x" * 300, "bad cp_id &#39;xxxx"),
    ("?driver_id=%3Cscript%3E", "bad driver_id &#39;&lt;script&gt;&#39;"),
    ("?page=0", "page must be a whole number from 1 to"),
    ("?page=abc", "page must be a whole number"),
])
def test_bad_filters_are_a_clear_400_on_the_page(client, query, message):
    response = client.get(f"/sessions{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="filter-error"' in html and message in html
    assert "<script>" not in html
    assert 'id="sessions"' not in html


def test_csv_export(client, fleet, sessions):
    ended(fleet, "x1", "CP1", "D8", "2026-01-05", kwh="4.5", eur="1.575")
    response = client.get("/sessions.csv?cp_id=CP1&driver_id=D8")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="sessions-CP1-D8.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        list(COLUMNS),
        ["CP1", "D8", "2026-01-05 10:00:00", "2026-01-05 10:45:30", "0:45:30", "4.5", "1.575",
         "ended", "unplugged"],
        ["CP1", "D8", "2026-01-02 09:00:00", "2026-01-02 09:30:00", "0:30:00", "2.000",
         "0.70000", "ended", "unplugged"],
    ]
    page = parse(client.get("/sessions?cp_id=CP1&driver_id=D8").get_data(as_text=True))
    assert [[cell.replace("—", "") for cell in r] for r in page.rows] == rows[1:]


def test_csv_export_holds_every_session_of_the_filter(client, fleet):
    for i in range(PAGE_SIZE + 50):
        ended(fleet, f"x{i:04d}", "CP3", "D8", "2026-01-05", hour=i % 24)
    response = client.get("/sessions.csv?day=2026-01-05")
    assert response.headers["Content-Disposition"].endswith('filename="sessions-2026-01-05.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1 + PAGE_SIZE + 50
    assert all(row[0] == "CP3" and row[2].startswith("2026-01-05") for row in rows[1:])


@pytest.mark.parametrize("query", ["?day=2026-1-5", "?cp_id=a%20b", "?driver_id=" + "d" * 65])
def test_csv_export_rejects_bad_filters_in_one_line(client, query):
    response = client.get(f"/sessions.csv{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith("bad ") and text.count("\n") == 1 and len(text) < 150
