"""The dashboard page and its server-sent event stream (/events)."""

from __future__ import annotations

import json
import re
import socket
import time
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
from flask import render_template

from cloud.central.app import create_app
from cloud.central.dashboard import STATE_LABELS
from cloud.central.power import iso
from protocol import messages as m
from tests.support import served, wait_for
from tests.unit.central.conftest import TOKEN


class Tiles(HTMLParser):
    """Collects every ``<article class="tile">``: id -> its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, dict] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "article" and "tile" in (attributes.get("class") or "").split():
            self.tiles[attributes["id"]] = attributes


def tiles_of(html: str) -> dict[str, dict]:
    parser = Tiles()
    parser.feed(html)
    return parser.tiles


def tile_html(html: str, cp_id: str) -> str:
    start = html.index(f'id="cp-{cp_id}"')
    return html[start:html.index("</article>", start)]


def test_page_has_one_tile_per_cp(client, site):
    site.break_down("CP3")
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tiles = tiles_of(html)
    assert set(tiles) == {"cp-CP1", "cp-CP2", "cp-CP3"}
    assert [tiles[f"cp-{cp}"]["data-state"] for cp in ("CP1", "CP2", "CP3")] == [
        "ACTIVATED", "SUPPLYING", "BROKEN"]
    assert "Broken down" in tile_html(html, "CP3")
    assert "Calle Mayor 1, Alicante" in tile_html(html, "CP1")
    assert "0.35 €/kWh" in tile_html(html, "CP1")


def test_supplying_tile_shows_driver_and_start(client):
    tile = tile_html(client.get("/").get_data(as_text=True), "CP2")
    for text in ("Supplying", "D7", "10:00:00 UTC", "kW", "kWh", "€"):
        assert text in tile


def test_supply_figures_render(app):
    cp = {"id": "CP9", "location": "Depot", "price_eur_kwh": "0.35", "state": "SUPPLYING",
          "driver_id": "D7", "kw": "7.4", "kwh": "1.250", "eur": "0.44", "session_id": "s",
          "started_at": "2026-01-02T11:00:00+01:00", "updated_at": "2026-01-02T10:00:01Z"}
    with app.test_request_context("/"):
        html = render_template("dashboard.html", cps=[cp], requests=[], messages=[],
                               labels=STATE_LABELS, reasons={})
    tile = tile_html(html, "CP9")
    for text in ("D7", "7.4 kW", "1.250 kWh", "0.44 €", "10:00:00 UTC", "0.35 €/kWh"):
        assert text in tile


def make(state: str, fleet, site) -> None:
    """Bring CP1 into ``state`` through the Fleet's own hooks."""
    if state == "DISCONNECTED":
        site.disconnect("CP1")
    elif state == "BROKEN":
        site.break_down("CP1")
    elif state == "STOPPED":
        fleet.stop("CP1", actor="test")
    elif state == "SUPPLYING":
        site.start("CP1", "D8")
    elif state == "AUTHORIZED":
        site.authorize("CP1", "D8")


@pytest.mark.parametrize(("state", "label"), sorted(STATE_LABELS.items()))
def test_each_state_has_its_label(client, fleet, site, state, label):
    make(state, fleet, site)
    html = client.get("/").get_data(as_text=True)
    assert tiles_of(html)["cp-CP1"]["data-state"] == state
    tile = tile_html(html, "CP1")
    shown = f"{label}: stopped by admin" if state == "STOPPED" else label  # and why
    assert f'<p class="tile-state">{shown}</p>' in tile
    assert ("D8" in tile) == (state in ("SUPPLYING", "AUTHORIZED"))


def test_page_has_panels_controls_and_no_external_resources(client, site):
    site.authorize("CP3", "D8")
    html = client.get("/").get_data(as_text=True)
    for text in ("Requests under way", "Application messages", "supply authorized for D8",
                 "Stop all", "Resume all", 'id="token-input"', 'id="conn-banner"',
                 'id="degraded"'):
        assert text in html
    assert "<td>CP3</td><td>D8</td>" in html
    assert "http://" not in html and "https://" not in html
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def actions_of(html: str, cp_id: str) -> list[str]:
    return re.findall(r'data-action="([a-z-]+)"', tile_html(html, cp_id))


@pytest.mark.parametrize(("state", "actions"), [
    ("ACTIVATED", ["stop"]), ("AUTHORIZED", ["stop"]), ("SUPPLYING", ["stop"]),
    ("BROKEN", ["stop"]), ("DISCONNECTED", ["stop"]), ("STOPPED", ["resume"]),
])
def test_a_tile_offers_only_the_action_that_applies(client, fleet, site, state, actions):
    make(state, fleet, site)
    html = client.get("/").get_data(as_text=True)
    assert actions_of(html, "CP1") == actions
    assert "stays out of order" not in tile_html(html, "CP1")


@pytest.mark.parametrize("state", ["BROKEN", "DISCONNECTED"])
def test_a_stopped_cp_that_is_also_down_offers_resume(client, fleet, site, state):
    fleet.stop("CP1", actor="test")
    make(state, fleet, site)
    html = client.get("/").get_data(as_text=True)
    assert tiles_of(html)["cp-CP1"]["data-state"] == state
    assert actions_of(html, "CP1") == ["resume"]
    assert "Stopped: stays out of order until resumed" in tile_html(html, "CP1")


def test_page_links_to_the_sessions_page_and_has_the_power_chart(client):
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/sessions" id="nav-sessions">Sessions</a>' in html
    assert 'id="power-chart"' in html and 'id="power-now"' in html
    assert html.index("power_chart.js") < html.index("dashboard.js")


def test_page_escapes_what_cps_report(client, fleet, site):
    fleet.on_connected("CP1", site.sent["CP1"].append, location="<script>alert(1)</script>")
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(("name", "kind"), [("dashboard.js", "javascript"),
                                            ("power_chart.js", "javascript"),
                                            ("front.js", "javascript"),
                                            ("cp_pages.js", "javascript"),
                                            ("dashboard.css", "text/css")])
def test_static_files_are_served(client, name, kind):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert kind in response.content_type
    response.close()


# -- server-sent events --------------------------------------------------------------
def next_event(chunks, timeout: float = 3.0) -> tuple[str, object]:
    """Read the stream until one event (not a comment) arrives; return (name, data)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = next(chunks).decode()
        fields = dict(
            line.split(": ", 1) for line in chunk.strip().splitlines() if ": " in line
            and not line.startswith(":")
        )
        if "event" in fields:
            return fields["event"], json.loads(fields["data"])
    raise TimeoutError("no event on the stream")


@contextmanager
def stream(client):
    response = client.get("/events", buffered=False)
    try:
        yield response, iter(response.response)
    finally:
        response.close()


def events_until(chunks, name: str, predicate=lambda data: True) -> list[tuple[str, object]]:
    """Read events until one called ``name`` satisfies ``predicate``; return all read."""
    seen = []
    while not seen or seen[-1][0] != name or not predicate(seen[-1][1]):
        seen.append(next_event(chunks))
    return seen


def test_events_start_with_a_snapshot_then_stream_changes(client, fleet, site):
    with stream(client) as (response, chunks):
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        name, snapshot = next_event(chunks)
        assert name == "snapshot"
        assert snapshot["cps"] == fleet.cps()
        assert snapshot["messages"] == fleet.messages()
        assert snapshot["requests"] == []
        assert (snapshot["power"]["span"], snapshot["power"]["points"]) == (3600.0, [])

        site.break_down("CP1")
        seen = events_until(chunks, "cp")
        assert seen[-1] == ("cp", fleet.cp("CP1"))
        assert seen[-1][1]["state"] == "BROKEN"
        assert ("message", "CP1", "error") in [
            (name, data.get("cp_id"), data.get("level")) for name, data in seen]

        session_id = site.authorize("CP3", "D8")
        seen = events_until(chunks, "cp", lambda cp: cp["id"] == "CP3")
        assert ("requests", fleet.requests()) in seen
        assert seen[-1][1]["state"] == "AUTHORIZED"
        assert seen[-1][1]["session_id"] == session_id


def test_events_send_keepalive_comments_when_quiet(client):
    with stream(client) as (_, chunks):
        next_event(chunks)
        assert next(chunks) == b": keepalive\n\n"


def test_closing_the_stream_unsubscribes(client, fleet):
    with stream(client) as (_, chunks):
        next_event(chunks)
        assert len(fleet.streams) == 1
    assert fleet.streams == set()


def test_event_streams_are_limited(fleet):
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "SSE_MAX_CLIENTS": 1,
                      "SSE_KEEPALIVE": 0.2})
    client = app.test_client()
    with stream(client) as (first, chunks):
        next_event(chunks)
        refused = client.get("/events")
        assert refused.status_code == 503
        assert fleet.streams and len(fleet.streams) == 1
    with stream(client) as (again, chunks):
        assert again.status_code == 200
        assert next_event(chunks)[0] == "snapshot"


@pytest.fixture
def live_url(app):
    with served(app) as address:
        yield address


def test_a_client_that_goes_away_is_unsubscribed(app, live_url, fleet):
    host, port = live_url.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        received = b""
        while b"event: snapshot" not in received:
            received += sock.recv(65536)
        assert b"200 OK" in received
        assert len(fleet.streams) == 1
    wait_for(lambda: not fleet.streams, timeout=5)
    wait_for(lambda: app.extensions["sse_streams"].open == 0, timeout=5)


def test_kafka_outage_is_a_banner_event_and_in_the_page(client, fleet):
    assert 'id="degraded" role="status" hidden' in client.get("/").get_data(as_text=True)
    with stream(client) as (_, chunks):
        assert next_event(chunks)[1]["kafka"] is None
        fleet.set_kafka(False, "10.0.0.5:9092")
        name, banner = events_until(chunks, "kafka")[-1]
        assert banner == {"up": False, "address": "10.0.0.5:9092", "text": (
            "Kafka unreachable at 10.0.0.5:9092: live telemetry and driver requests paused")}
    page = client.get("/").get_data(as_text=True)
    assert ">Kafka unreachable at 10.0.0.5:9092: live telemetry" in page
    with stream(client) as (_, chunks):
        assert next_event(chunks)[1]["kafka"]["up"] is False
        fleet.set_kafka(True, "10.0.0.5:9092")
        assert events_until(chunks, "kafka")[-1][1]["up"] is True
    assert 'id="degraded" role="status" hidden' in client.get("/").get_data(as_text=True)


def test_power_samples_stream_live(client, fleet):
    t0 = time.time() - 60  # the snapshot holds the last hour before now
    fleet.sample_power(t0)
    with stream(client) as (_, chunks):
        history = next_event(chunks)[1]["power"]
        assert history["points"] == [{"t": iso(t0), "kw": "0"}]
        fleet.sample_power(t0 + 5)
        assert events_until(chunks, "power")[-1][1] == {"t": iso(t0 + 5), "kw": "0"}


def test_a_supply_started_at_the_cp_is_ad_hoc_on_its_tile_and_in_requests(client, fleet, site):
    assert fleet.on_supply_request(m.SupplyRequest(cp_id="CP1", source="button")) is None
    command = site.sent["CP1"][-1]
    assert isinstance(command, m.Command) and command.driver_id is None
    site.heartbeat("CP1", state="authorized", session_id=command.session_id)
    html = client.get("/").get_data(as_text=True)
    assert '<dd class="tile-driver">ad hoc</dd>' in tile_html(html, "CP1")
    assert "<td>CP1</td><td>ad hoc</td>" in html  # the requests panel
    assert 'data-ad-hoc="ad hoc"' in html  # the same name for the page's script


def test_a_tile_says_why_a_cp_is_stopped_and_offers_resume_for_the_admin_stop_only(
        client, fleet, site):
    from cloud.central.cpstate import StopReason

    fleet.stop("CP1", actor="weather office", reason=StopReason.WEATHER)
    tile = tile_html(client.get("/").get_data(as_text=True), "CP1")
    assert '<p class="tile-state">Out of order: weather alert</p>' in tile
    assert re.findall(r'data-action="([a-z-]+)"', tile) == ["stop"]
    fleet.stop("CP1", actor="alice")
    tile = tile_html(client.get("/").get_data(as_text=True), "CP1")
    assert '<p class="tile-state">Out of order: stopped by admin, weather alert</p>' in tile
    assert re.findall(r'data-action="([a-z-]+)"', tile) == ["resume"]
    site.disconnect("CP1")
    fleet.resume("CP1", actor="bob")
    tile = tile_html(client.get("/").get_data(as_text=True), "CP1")
    assert "Out of order once back: weather alert" in tile
    assert re.findall(r'data-action="([a-z-]+)"', tile) == ["stop"]


def test_a_tile_shows_registration_and_key_state_never_the_key(client, fleet):
    key = fleet.login("CP1", "10.0.0.9:51000").key
    fleet.on_key_mismatch("CP1", "10.0.0.9:51000", "does not open: tampered", "control")
    html = client.get("/").get_data(as_text=True)
    tile = tile_html(html, "CP1")
    view = fleet.cp("CP1")
    assert view["registered_at"][:10] in tile and key.key_id in tile
    assert "Key problem (1): does not open: tampered" in tile
    assert re.search(r'data-revoke-key="CP1"\s+aria-label="Revoke key of CP1">', tile)
    assert 'data-revoke-key="CP3"' in tile_html(html, "CP3")  # no key yet: disabled
    assert re.search(r'Revoke key of CP3" disabled', tile_html(html, "CP3"))
    assert key.secret.hex() not in html and "Audit trail" in html
    fleet.revoke_key("CP1", actor="admin@127.0.0.1")
    tile = tile_html(client.get("/").get_data(as_text=True), "CP1")
    assert "Out of order: key revoked" in tile and '"tile-key">revoked<' in tile


def test_the_page_and_the_snapshot_hold_one_page_of_tiles_and_count_them_all(fleet, site):
    site.break_down("CP3")
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": "t", "SSE_KEEPALIVE": 0.2,
                      "TESTING": True, "DASHBOARD_PAGE": 2})
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'id="cp-CP1"' in html and 'id="cp-CP2"' in html and 'id="cp-CP3"' not in html
    assert "3 charging points" in html and 'data-page="2"' in html
    for panel in ('id="cp-filter"', 'id="cp-state"', 'id="cp-next"', 'id="drivers"',
                  'id="errors"', 'id="errors-now"', "front.js", "cp_pages.js"):
        assert panel in html
    with stream(client) as (_, chunks):
        name, snapshot = next_event(chunks)
        assert name == "snapshot"
        assert [cp["id"] for cp in snapshot["cps"]] == ["CP1", "CP2"]
        assert snapshot["summary"]["cps"] == 3 and snapshot["summary"]["states"]["BROKEN"] == 1
