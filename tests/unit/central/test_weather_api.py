"""The weather office's REST calls on the real Fleet and a real SQLite file: tokens,
404, bad bodies, persistence and the audit trail."""

from __future__ import annotations

import pytest

from cloud.central import audit
from cloud.central.app import create_app
from cloud.central.fleet import Fleet

from .conftest import AUTH, TOKEN

SERVICE = "w3ather-service-token"
OFFICE = {"Authorization": f"Bearer {SERVICE}"}
COLD = {"temperature_c": "-3.2", "threshold_c": "0", "observed_at": "2026-01-02T09:59:58Z"}
REPORT = {"status": "ok", "since": "2026-01-02T09:00:00Z", "locations": [
    {"location": "Calle Mayor 1", "temperature_c": "-3.2",
     "observed_at": "2026-01-02T09:59:58Z", "alert": True, "error": None},
    {"location": "Atlantis", "temperature_c": None, "observed_at": None, "alert": False,
     "error": "unknown city Atlantis"}]}


@pytest.fixture
def office(fleet):
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "WEATHER_TOKEN": SERVICE,
                      "TESTING": True})
    return app.test_client()


def refusals(fleet) -> list[tuple]:
    rows, _ = fleet.store.audit_page(_query("auth failed"), 100, 0)
    return [(r["actor"], r["params"]["reason"], r["params"]["call"]) for r in rows]


def _query(action: str) -> audit.Query:
    return audit.Query(action=action)


def test_an_alert_raised_stops_the_cps_there_and_is_listed(office, fleet, site):
    # "Calle Mayor 1, Alicante" is CP1's location: its place is "calle mayor 1"
    answer = office.put("/api/alerts/Calle%20Mayor%201", json=COLD, headers=OFFICE)
    assert answer.status_code == 201
    assert answer.json["location"] == "Calle Mayor 1" and answer.json["temperature_c"] == "-3.2"
    assert answer.json["raised_at"] and answer.json["raised_by"].startswith("service@")
    assert fleet.cp("CP1")["state"] == "STOPPED"
    assert fleet.cp("CP1")["stop_reasons"] == ["weather"]
    assert fleet.cp("CP3")["stop_reasons"] == []
    again = office.put("/api/alerts/Calle%20Mayor%201", json={**COLD, "temperature_c": -4},
                       headers=OFFICE)
    assert again.status_code == 200 and again.json["temperature_c"] == "-4"
    listed = office.get("/api/alerts")  # open, like GET /api/cps
    assert listed.status_code == 200
    assert [(a["location"], a["temperature_c"]) for a in listed.json] == [("Calle Mayor 1", "-4")]
    assert Fleet(fleet.store).alerts() == listed.json  # kept in SQLite
    rows, _ = fleet.store.audit_page(_query("weather alert raised"), 10, 0)
    assert [(r["actor"], r["params"]["location"], r["params"]["cp_ids"]) for r in rows] == [
        ("service", "Calle Mayor 1", ["CP1"])]


def test_clearing_lifts_the_weather_and_a_second_clear_is_404(office, fleet, site):
    office.put("/api/alerts/Calle%20Mayor%201", json=COLD, headers=OFFICE)
    answer = office.delete("/api/alerts/calle%20mayor%201", headers=OFFICE)
    assert answer.status_code == 200 and answer.json["location"] == "Calle Mayor 1"
    assert fleet.cp("CP1")["state"] == "ACTIVATED"
    assert office.get("/api/alerts").json == []
    missing = office.delete("/api/alerts/Calle%20Mayor%201", headers=OFFICE)
    assert missing.status_code == 404 and "no weather alert" in missing.json["message"]
    rows, _ = fleet.store.audit_page(_query("weather alert cleared"), 10, 0)
    assert len(rows) == 1


def test_a_location_with_a_slash_is_one_location(office):
    answer = office.put("/api/alerts/Bay%2FArea", json=COLD, headers=OFFICE)
    assert answer.status_code == 201 and answer.json["location"] == "Bay/Area"
    assert office.delete("/api/alerts/Bay%2FArea", headers=OFFICE).status_code == 200


@pytest.mark.parametrize("headers, status, reason", [
    ({}, 401, "weather service token missing"),
    ({"Authorization": "Basic abc"}, 401, "weather service token missing"),
    ({"Authorization": "Bearer nope"}, 403, "wrong weather service token"),
    (AUTH, 403, "the admin token is not the weather service token"),
])
def test_the_office_calls_need_the_service_token(office, fleet, headers, status, reason):
    for method, path, body in (("put", "/api/alerts/Madrid", COLD),
                               ("delete", "/api/alerts/Madrid", None),
                               ("put", "/api/weather", REPORT)):
        answer = getattr(office, method)(path, json=body, headers=headers)
        assert (answer.status_code, answer.json["message"]) == (status, reason)
    assert office.get("/api/alerts").json == [] and fleet.weather() is None
    assert refusals(fleet)[0] == ("service", reason, "PUT /api/weather")
    assert SERVICE not in str(refusals(fleet)) and TOKEN not in str(refusals(fleet))


def test_the_service_token_is_not_an_admin_token(office, fleet):
    assert office.post("/api/cps/CP1/stop", headers=OFFICE).status_code == 401
    assert fleet.cp("CP1")["stop_reasons"] == []


def test_without_a_configured_service_token_every_office_call_is_refused(client):
    answer = client.put("/api/alerts/Madrid", json=COLD, headers=OFFICE)
    assert answer.status_code == 403 and "--weather-token-file" in answer.json["message"]


def test_the_admin_token_cannot_be_the_service_token(fleet):
    with pytest.raises(ValueError, match="must differ"):
        create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "WEATHER_TOKEN": TOKEN})


@pytest.mark.parametrize("body, reason", [
    ("not json", "the body must be JSON"),
    ([1, 2], "the body must be a JSON object"),
    ({**COLD, "temperature_c": "cold"}, "temperature_c must be a number"),
    ({**COLD, "temperature_c": True}, "temperature_c must be a number"),
    ({**COLD, "temperature_c": "NaN"}, "temperature_c must be between -100 and 100"),
    ({**COLD, "threshold_c": None}, "threshold_c must be a number"),
    ({**COLD, "observed_at": "yesterday"}, "observed_at must be an ISO-8601 time"),
    ({"temperature_c": "-1", "threshold_c": "0"}, "observed_at must be an ISO-8601 time"),
])
def test_a_bad_alert_body_is_a_400_with_its_reason(office, fleet, body, reason):
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) \
        else {"json": body}
    answer = office.put("/api/alerts/Madrid", headers=OFFICE, **kwargs)
    assert answer.status_code == 400 and answer.json["message"].startswith(reason)
    assert office.get("/api/alerts").json == []


def test_a_bad_location_is_a_400(office):
    answer = office.put("/api/alerts/%20%20", json=COLD, headers=OFFICE)
    assert answer.status_code == 400 and "location" in answer.json["message"]
    answer = office.put("/api/alerts/" + "x" * 101, json=COLD, headers=OFFICE)
    assert answer.status_code == 400 and "at most 100" in answer.json["message"]


def test_the_weather_report_is_kept_and_shown(office, fleet):
    assert office.get("/api/weather").json is None
    answer = office.put("/api/weather", json=REPORT, headers=OFFICE)
    assert answer.status_code == 200
    shown = office.get("/api/weather").json
    assert shown["status"] == "ok" and shown["since"] == "2026-01-02T09:00:00Z"
    assert shown["received_at"]
    assert [(x["location"], x["temperature_c"], x["alert"], x["error"])
            for x in shown["locations"]] == [
        ("Calle Mayor 1", "-3.2", True, None), ("Atlantis", None, False, "unknown city Atlantis")]
    assert fleet.temperatures()["calle mayor 1"]["temperature_c"] == "-3.2"


@pytest.mark.parametrize("body, reason", [
    ({"locations": []}, "status must be a non-empty string"),
    ({"status": "ok", "locations": "Madrid"}, "locations must be a list"),
    ({"status": "ok", "locations": [{"location": "", "alert": False}]}, "location must not"),
    ({"status": "ok", "locations": [{"location": "M", "alert": "yes"}]}, "a location's alert"),
    ({"status": "ok", "since": 5}, "since must be an ISO-8601 time"),
])
def test_a_bad_weather_report_is_a_400(office, fleet, body, reason):
    answer = office.put("/api/weather", json=body, headers=OFFICE)
    assert answer.status_code == 400 and answer.json["message"].startswith(reason)
    assert fleet.weather() is None
