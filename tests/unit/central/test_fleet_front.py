"""The public front through the API: the drivers' board, the network's errors, a page of
CPs filtered, and the fleet's summary."""

from __future__ import annotations

import pytest

from cloud.central.fleet_front import cp_matches


def test_each_driver_shows_its_supply_under_way_and_its_last_ticket(client, sessions):
    response = client.get("/api/drivers")
    assert response.headers["X-Total-Count"] == "2"
    d7, d8 = response.get_json()
    assert d7["id"] == "D7" and d7["session"] == {
        "cp_id": "CP2", "location": "Campus, parking B", "session_id": sessions["CP2/D7"],
        "status": "supplying"}
    assert d7["last_ticket"]["session_id"] == sessions["CP1/D7"]
    assert (d7["last_ticket"]["cp_id"], d7["last_ticket"]["kwh"]) == ("CP1", "1.000")
    assert d8["session"] is None and d8["last_ticket"]["session_id"] == sessions["CP1/D8"]
    assert client.get("/api/drivers/D8").get_json() == d8


def test_an_authorized_driver_is_on_the_board_and_a_new_one_has_no_ticket(client, site):
    site.fleet.add_driver("D9")
    site.authorize("CP3", "D9")
    page = client.get("/api/drivers?offset=2&limit=5").get_json()
    assert [(d["id"], d["session"]["status"], d["session"]["cp_id"], d["last_ticket"])
            for d in page] == [("D9", "authorized", "CP3", None)]


def test_the_board_pages(client, fleet):
    for n in range(10, 15):
        fleet.add_driver(f"D{n}")
    page = client.get("/api/drivers?limit=2&offset=3")
    assert [d["id"] for d in page.get_json()] == ["D13", "D14"]
    assert page.headers["X-Total-Count"] == "7"


def test_errors_from_the_cps_the_keys_and_the_api(client, fleet, site):
    site.break_down("CP3")
    fleet.on_key_mismatch("CP1", "kafka cp.events[0]@9", "key 'k9' is not a key of 'CP1'",
                          "data")
    client.post("/api/cps/stop", headers={"Authorization": "Bearer wrong"})
    response = client.get("/api/errors")
    assert response.status_code == 200
    body = response.get_json()
    assert [(e["part"], e["cp_id"]) for e in body["errors"]] == [
        ("api", None), ("keys", "CP1"), ("cp", "CP3")]
    assert body["errors"][2]["text"] == "broken down (was ACTIVATED)"
    assert response.headers["X-Total-Count"] == "3"
    assert body["ongoing"] == [{"part": "cp", "text": "1 CP broken down: CP3", "since": None}]
    assert "Bearer" not in response.get_data(as_text=True)
    assert client.get("/api/errors?limit=1&offset=1").get_json()["errors"][0]["part"] == "keys"
    assert client.get("/api/errors?since=2999-01-01").get_json()["errors"] == []


@pytest.mark.parametrize(("query", "message"), [
    ("since=yesterday", "since must be an ISO-8601"), ("limit=0", "limit"),
    ("limit=1001", "limit"), ("offset=-1", "offset"),
])
def test_bad_error_filters_are_a_clear_400(client, query, message):
    response = client.get(f"/api/errors?{query}")
    assert response.status_code == 400 and message in response.get_json()["message"]


def test_a_weather_problem_is_recorded_once_and_shown_while_it_lasts(client, fleet):
    report = {"status": "provider unreachable since 10:42", "since": None, "locations": [],
              "received_at": fleet.wallclock()}
    fleet.set_weather(report)
    fleet.set_weather(dict(report))  # the same problem, the next round
    body = client.get("/api/errors").get_json()
    assert [(e["part"], e["text"]) for e in body["errors"]] == [
        ("weather", "weather: provider unreachable since 10:42")]
    assert ("weather", "weather: provider unreachable since 10:42") in [
        (p["part"], p["text"]) for p in body["ongoing"]]
    fleet.set_weather({**report, "status": "ok"})
    body = client.get("/api/errors").get_json()
    assert body["ongoing"] == [] and len(body["errors"]) == 1


def test_cps_are_filtered_by_text_and_state(client, site):
    site.break_down("CP3")
    by_text = client.get("/api/cps?q=campus")
    assert [cp["id"] for cp in by_text.get_json()] == ["CP2"]
    assert by_text.headers["X-Total-Count"] == "1"
    assert [cp["id"] for cp in client.get("/api/cps?q=cp&state=BROKEN").get_json()] == ["CP3"]
    assert client.get("/api/cps?state=ACTIVATED&limit=1&offset=0").headers[
        "X-Total-Count"] == "1"
    bad = client.get("/api/cps?state=ON_FIRE")
    assert bad.status_code == 400 and "state must be one of" in bad.get_json()["message"]
    assert client.get("/api/cps?q=" + "x" * 101).status_code == 400


def test_the_summary_counts_every_cp_by_state(client, site):
    site.break_down("CP3")
    summary = client.get("/api/summary").get_json()
    assert summary["cps"] == 3
    assert {k: v for k, v in summary["states"].items() if v} == {
        "ACTIVATED": 1, "SUPPLYING": 1, "BROKEN": 1}


@pytest.mark.parametrize(("text", "state", "shown"), [
    ("", None, True), ("mad", None, True), ("MADRID", None, True), ("sev", None, False),
    ("", "BROKEN", False), ("mad", "ACTIVATED", True),
])
def test_a_cp_matches_a_filter(text, state, shown):
    assert cp_matches({"id": "MAD-01", "location": "Madrid", "state": "ACTIVATED"},
                      text, state) is shown

