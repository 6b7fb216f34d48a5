"""REST API, /healthz and /metrics of Central's Flask app."""

from __future__ import annotations

import json
import re
import time

import pytest

from cloud.central.app import create_app, prometheus_text
from cloud.central.power import iso
from protocol import messages as m
from tests.unit.central.conftest import AUTH, TOKEN

CP_KEYS = {"id", "location", "price_eur_kwh", "state", "driver_id", "kw", "kwh", "eur",
           "session_id", "updated_at", "stop_reasons", "registered_at", "last_auth_at", "key_id",
           "key_issued_at", "key_problems", "key_problem"}
ADMIN_POSTS = ["/api/cps/CP1/stop", "/api/cps/CP1/resume", "/api/cps/stop", "/api/cps/resume"]


def test_create_app_needs_fleet_and_token(fleet):
    with pytest.raises(ValueError):
        create_app({"ADMIN_TOKEN": TOKEN})
    with pytest.raises(ValueError):
        create_app({"FLEET": fleet, "ADMIN_TOKEN": ""})


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_list_cps(client):
    response = client.get("/api/cps")
    assert response.status_code == 200
    cps = response.get_json()
    assert [cp["id"] for cp in cps] == ["CP1", "CP2", "CP3"]
    assert all(CP_KEYS <= cp.keys() for cp in cps)


def test_one_cp(client, sessions):
    cp = client.get("/api/cps/CP2").get_json()
    assert CP_KEYS <= cp.keys()
    assert (cp["state"], cp["driver_id"]) == ("SUPPLYING", "D7")
    assert cp["session_id"] == sessions["CP2/D7"]
    assert cp["price_eur_kwh"] == "0.40"
    assert cp["location"] == "Campus, parking B"


@pytest.mark.parametrize("cp_id", ["NOPE", "bad%20id", "x" * 80])
def test_unknown_cp_is_json_404(client, cp_id):
    response = client.get(f"/api/cps/{cp_id}")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["status"] == 404


@pytest.mark.parametrize("path", ADMIN_POSTS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
     {"Authorization": "Bearer "}],
    ids=["none", "wrong", "no-scheme", "basic", "longer", "empty"],
)
def test_admin_posts_need_the_token(client, fleet, path, headers):
    before = fleet.cps()
    audited = fleet.store.audit_log()
    response = client.post(path, headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert "token" in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert fleet.cps() == before
    [refused, *rest] = fleet.store.audit_log()
    assert rest == audited
    assert (refused["actor"], refused["source"], refused["action"], refused["outcome"]) == (
        "admin", "127.0.0.1", "auth failed", "refused")
    assert refused["params"] == {"reason": "admin bearer token missing or wrong",
                                 "call": f"POST {path}"}
    assert TOKEN not in json.dumps(refused)


def audit(fleet) -> list[tuple[str, str, str, str]]:
    """The administrators' actions in the audit trail, oldest first."""
    return [(row["actor"], row["source"], row["action"], row["cp_id"])
            for row in reversed(fleet.store.audit_log()) if row["action"] in ("stop", "resume")]


def test_stop_and_resume_one(client, fleet, site):
    response = client.post("/api/cps/CP1/stop", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["state"] == "STOPPED"
    assert fleet.cp("CP1")["state"] == "STOPPED"
    assert site.sent["CP1"][-1].action == "stop"
    response = client.post("/api/cps/CP1/resume", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["state"] == "ACTIVATED"
    assert audit(fleet) == [("admin", "127.0.0.1", "stop", "CP1"),
                            ("admin", "127.0.0.1", "resume", "CP1")]


def test_stop_ends_a_supply_under_way(client, fleet, site):
    assert client.post("/api/cps/CP2/stop", headers=AUTH).get_json()["state"] == "STOPPED"
    assert site.sent["CP2"][-1].action == "stop"


@pytest.mark.parametrize("action", ["stop", "resume"])
@pytest.mark.parametrize("cp_id", ["NOPE", "bad%20id"])
def test_admin_action_on_unknown_cp_is_404(client, fleet, action, cp_id):
    audited = fleet.store.audit_log()
    response = client.post(f"/api/cps/{cp_id}/{action}", headers=AUTH)
    assert response.status_code == 404
    assert response.is_json
    assert fleet.store.audit_log() == audited


def test_stop_all_and_resume_all(client, fleet):
    response = client.post("/api/cps/stop", headers=AUTH)
    assert response.status_code == 200
    assert [cp["state"] for cp in response.get_json()] == ["STOPPED"] * 3
    assert {cp["state"] for cp in fleet.cps()} == {"STOPPED"}
    response = client.post("/api/cps/resume", headers=AUTH)
    assert response.status_code == 200
    assert "STOPPED" not in {cp["state"] for cp in response.get_json()}
    assert [action for _, _, action, _ in audit(fleet)] == ["stop"] * 3 + ["resume"] * 3


def test_stop_survives_a_restart_of_central(client, fleet, tmp_path):
    client.post("/api/cps/CP3/stop", headers=AUTH)
    again = create_app({"FLEET": type(fleet)(fleet.store), "ADMIN_TOKEN": TOKEN}).test_client()
    cp = again.get("/api/cps/CP3").get_json()
    assert cp["state"] == "DISCONNECTED"  # no monitor link yet after a restart
    assert cp["stop_reasons"] == ["admin"]  # the reason is kept, and shown
    assert fleet.store.cp("CP3")["stop_reasons"] == "admin"


def test_wrong_method_is_json_405(client):
    response = client.get("/api/cps/CP1/stop")
    assert response.status_code == 405
    assert response.is_json
    assert "POST" in response.headers["Allow"]


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"CP1/D8", "CP1/D7", "CP2/D7"}),
        ("?cp_id=CP1", {"CP1/D8", "CP1/D7"}),
        ("?driver_id=D7", {"CP1/D7", "CP2/D7"}),
        ("?cp_id=CP1&driver_id=D7", {"CP1/D7"}),
        ("?cp_id=CP3", set()),
        ("?driver_id=NOBODY", set()),
        ("?cp_id=&driver_id=", {"CP1/D8", "CP1/D7", "CP2/D7"}),
    ],
)
def test_sessions_filters(client, sessions, query, expected):
    response = client.get(f"/api/sessions{query}")
    assert response.status_code == 200
    assert {s["id"] for s in response.get_json()} == {sessions[key] for key in expected}


def test_session_records_carry_the_bill(client, sessions):
    [record] = client.get("/api/sessions?cp_id=CP1&driver_id=D8").get_json()
    assert (record["status"], record["kwh"], record["eur"]) == ("ended", "2.000", "0.70000")


@pytest.mark.parametrize("query", ["?cp_id=bad%20id", "?driver_id=%3Cscript%3E"])
def test_sessions_rejects_bad_filters(client, query):
    response = client.get(f"/api/sessions{query}")
    assert response.status_code == 400
    assert response.is_json


def ended(fleet, session_id: str, cp_id: str, driver_id: str | None, start: str, end: str,
          kwh: str, eur: str) -> None:
    """A billed supply record as a CP sends it (no start record needed)."""
    fleet.on_supply_ended(m.SupplyEnded(
        cp_id=cp_id, session_id=session_id, started_at=start, ended_at=end, kwh=kwh, eur=eur,
        price_eur_kwh="0.35", reason="unplugged", driver_id=driver_id))


@pytest.mark.parametrize(("query", "expected"), [
    ("?day=2026-01-02", {"CP1/D8", "CP1/D7", "CP2/D7"}),
    ("?day=2026-01-03", {"x1"}),
    ("?day=2026-01-03&driver_id=D7", set()),
    ("?day=2026-01-02&cp_id=CP1&driver_id=D7", {"CP1/D7"}),
    ("?day=", {"CP1/D8", "CP1/D7", "CP2/D7", "x1"}),
])
def test_sessions_filter_by_day(client, fleet, sessions, query, expected):
    ended(fleet, "x1", "CP3", "D8", "2026-01-03T00:00:00.000Z", "2026-01-03T01:00:00.000Z",
          "3.000", "0.90")
    response = client.get(f"/api/sessions{query}")
    assert response.status_code == 200
    assert {s["id"] for s in response.get_json()} == {sessions.get(k, k) for k in expected}
    assert response.headers["X-Total-Count"] == str(len(expected))


def test_sessions_totals_cover_the_filtered_set_exactly(client, fleet):
    ended(fleet, "x1", "CP3", "D8", "2026-01-03T10:00:00.000Z", "2026-01-03T11:00:00.000Z",
          "0.1", "0.035")
    ended(fleet, "x2", "CP3", "D8", "2026-01-03T12:00:00.000Z", "2026-01-03T13:00:00.000Z",
          "0.2", "0.07")
    assert client.get("/api/sessions/totals").get_json() == {
        "count": 5, "kwh": "3.300", "eur": "1.15500"}  # CP2's supply under way counts 0
    assert client.get("/api/sessions/totals?cp_id=CP3&day=2026-01-03").get_json() == {
        "count": 2, "kwh": "0.3", "eur": "0.105"}
    assert client.get("/api/sessions/totals?day=2025-12-31").get_json() == {
        "count": 0, "kwh": "0", "eur": "0"}


def test_sessions_page_through_with_limit_and_offset(client, fleet):
    for i in range(30):
        ended(fleet, f"x{i:02d}", "CP3", "D8", f"2026-01-03T10:{i:02d}:00.000Z",
              f"2026-01-03T11:{i:02d}:00.000Z", "1", "0.35")
    everything = client.get("/api/sessions?cp_id=CP3").get_json()
    assert [s["id"] for s in everything] == [f"x{i:02d}" for i in reversed(range(30))]
    response = client.get("/api/sessions?cp_id=CP3&limit=10&offset=25")
    assert [s["id"] for s in response.get_json()] == ["x04", "x03", "x02", "x01", "x00"]
    assert response.headers["X-Total-Count"] == "30"
    assert client.get("/api/sessions/totals?cp_id=CP3").get_json()["count"] == 30


FILTER_ERRORS = [
    ("?day=2026-13-01", "bad day '2026-13-01': expected a date YYYY-MM-DD (UTC)"),
    ("?day=yesterday", "bad day 'yesterday'"),
    ("?cp_id=" + "C" * 65, "bad cp_id 'CCC"),
    ("?driver_id=" + "D" * 5000, "bad driver_id 'DDD"),
]
PAGING_ERRORS = [
    ("?limit=0", "limit must be a whole number from 1 to 1000"),
    ("?limit=1001", "limit must be"), ("?offset=-1", "offset must be"),
]


@pytest.mark.parametrize(("path", "query", "message"), [
    *(("/api/sessions", query, message) for query, message in FILTER_ERRORS + PAGING_ERRORS),
    *(("/api/sessions/totals", query, message) for query, message in FILTER_ERRORS),
])
def test_bad_session_filters_are_a_clear_400(client, path, query, message):
    response = client.get(path + query)
    assert response.status_code == 400
    assert response.is_json
    text = response.get_json()["message"]
    assert text.startswith(message) and "\n" not in text and len(text) < 150


def test_power_history(client, fleet):
    assert client.get("/api/power").get_json()["points"] == []
    t0 = time.time() - 10
    fleet.sample_power(t0 - 3600)  # more than an hour ago: not shown
    fleet.sample_power(t0)
    power = client.get("/api/power").get_json()
    assert (power["span"], power["step"]) == (3600.0, 5.0)
    assert power["points"] == [{"t": iso(t0), "kw": "0"}]
    assert power["now"] >= iso(t0)


def test_drivers(client):
    assert [d["id"] for d in client.get("/api/drivers").get_json()] == ["D7", "D8"]


def test_requests(client, site):
    assert client.get("/api/requests").get_json() == []
    session_id = site.authorize("CP3", "D8")
    [item] = client.get("/api/requests").get_json()
    assert item["session_id"] == session_id
    assert (item["cp_id"], item["driver_id"], item["source"]) == ("CP3", "D8", "driver")
    assert item["since"]


def test_messages_and_limit(client, fleet, site):
    everything = client.get("/api/messages").get_json()
    assert everything == fleet.messages()
    assert {"ts", "level", "cp_id", "text"} <= everything[0].keys()
    site.break_down("CP3")
    latest = client.get("/api/messages?limit=1").get_json()
    assert [(x["cp_id"], x["level"]) for x in latest] == [("CP3", "error")]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "100000"])
def test_messages_rejects_bad_limit(client, limit):
    response = client.get(f"/api/messages?limit={limit}")
    assert response.status_code == 400
    assert response.is_json


SAMPLE = re.compile(r'^(evcharging_[a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def test_metrics_exposition(client, site):
    site.break_down("CP3")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "version=0.0.4" in response.content_type
    lines = response.get_data(as_text=True).splitlines()
    types = {line.split()[2]: line.split()[3] for line in lines if line.startswith("# TYPE")}
    samples = [SAMPLE.match(line) for line in lines if not line.startswith("#")]
    assert all(samples), lines
    assert {match.group(1) for match in samples} == set(types)
    assert types["evcharging_supplies_ended_total"] == "counter"
    assert types["evcharging_cps_by_state"] == "gauge"
    values = {match.group(1) + (match.group(2) or ""): float(match.group(3))
              for match in samples}
    assert values["evcharging_supplies_ended_total"] == 2
    assert values['evcharging_cps_by_state{state="BROKEN"}'] == 1
    assert values['evcharging_cps_by_state{state="SUPPLYING"}'] == 1


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, ""),
        ({"up": 1.0}, "# TYPE evcharging_up gauge\nevcharging_up 1\n"),
        ({"evcharging_x_total": 2.5},
         "# TYPE evcharging_x_total counter\nevcharging_x_total 2.5\n"),
        ({"bad-name": float("nan")}, "# TYPE evcharging_bad_name gauge\nevcharging_bad_name NaN\n"),
        ({'s{a="1"}': 1, 's{a="2"}': 2},
         '# TYPE evcharging_s gauge\nevcharging_s{a="1"} 1\nevcharging_s{a="2"} 2\n'),
    ],
)
def test_prometheus_text(values, expected):
    assert prometheus_text(values) == expected


@pytest.mark.parametrize(("up", "health", "kafka_up"), [
    (True, {"status": "ok", "kafka": True}, 1),
    (False, {"status": "degraded", "kafka": False}, 0),
])
def test_healthz_and_metrics_follow_kafka(client, fleet, up, health, kafka_up):
    fleet.set_kafka(up, "127.0.0.1:9092")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == health
    text = client.get("/metrics").get_data(as_text=True)
    assert f"evcharging_kafka_up {kafka_up}\n" in text
    for name in ("events_consumed", "telemetry_consumed", "driver_requests", "deadlettered"):
        assert f"# TYPE evcharging_{name}_total counter\nevcharging_{name}_total 0\n" in text


def test_without_kafka_there_is_no_kafka_up(client):
    assert "kafka_up" not in client.get("/metrics").get_data(as_text=True)


def test_a_stop_shows_its_reason_and_a_resume_lifts_it(client):
    stopped = client.post("/api/cps/CP1/stop", headers=AUTH).get_json()
    assert (stopped["state"], stopped["stop_reasons"]) == ("STOPPED", ["admin"])
    assert client.get("/api/cps/CP1").get_json()["stop_reasons"] == ["admin"]
    resumed = client.post("/api/cps/CP1/resume", headers=AUTH).get_json()
    assert (resumed["state"], resumed["stop_reasons"]) == ("ACTIVATED", [])


@pytest.mark.parametrize("action", ["stop", "resume"])
def test_an_unknown_cp_is_a_json_404_whatever_the_route(client, action):
    for response in (client.get("/api/cps/NOPE"),
                     client.post(f"/api/cps/NOPE/{action}", headers=AUTH)):
        assert response.status_code == 404
        assert response.get_json() == {"error": "Not Found", "status": 404,
                                       "message": "unknown charging point 'NOPE'"}


@pytest.mark.parametrize(("error", "status", "message"), [
    ("taken", 409, "CP CP1 already exists"),
    ("price", 400, "price must be a decimal number, not 'abc'"),
    ("unknown", 404, "unknown charging point 'CP7'"),
])
def test_domain_errors_become_http_codes_in_one_handler(fleet, error, status, message):
    """Whatever raises them (here a route of the test's own), with a clear JSON reason."""
    app = create_app({"FLEET": fleet, "ADMIN_TOKEN": TOKEN, "TESTING": True})

    @app.post("/api/test-register/<error>")
    def register(error):
        if error == "taken":
            fleet.add_cp("CP1", "again", "0.3")
        elif error == "price":
            fleet.add_cp("CP7", "x", "abc")
        fleet.stop("CP7")

    response = app.test_client().post(f"/api/test-register/{error}")
    assert response.status_code == status
    assert response.get_json()["message"] == message
    assert response.get_json()["status"] == status


def test_revoke_key_needs_the_token_and_takes_the_cp_out_of_service(client, fleet, site):
    fleet.login("CP1", "10.0.0.9:51000")
    assert client.delete("/api/cps/CP1/key").status_code == 401
    assert fleet.cp("CP1")["key_id"] is not None
    response = client.delete("/api/cps/CP1/key", headers=AUTH)
    assert response.status_code == 200
    view = response.get_json()
    assert (view["state"], view["stop_reasons"], view["key_id"]) == (
        "STOPPED", ["key revoked"], None)
    assert isinstance(site.sent["CP1"][-1], m.KeyRevoked)
    assert client.delete("/api/cps/NOPE/key", headers=AUTH).status_code == 404


def test_audit_trail_is_admin_only_filtered_and_paginated(client, fleet):
    for cp_id in ("CP1", "CP2", "CP1"):
        fleet.login(cp_id, "10.0.0.9:51000")
    assert client.get("/api/audit").status_code == 401
    response = client.get("/api/audit?cp_id=CP1&action=key%20issued&limit=1", headers=AUTH)
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "2"
    [row] = response.get_json()
    assert (row["cp_id"], row["action"], row["actor"], row["outcome"]) == (
        "CP1", "key issued", "cp", "ok")
    page = client.get("/api/audit?cp_id=CP1&action=key%20issued&limit=1&offset=1",
                      headers=AUTH).get_json()
    assert page[0]["id"] < row["id"]
    later = client.get("/api/audit?since=2999-01-01", headers=AUTH)
    assert later.get_json() == [] and later.headers["X-Total-Count"] == "0"
    everything = client.get("/api/audit?limit=1000", headers=AUTH).get_json()
    assert {"auth ok", "key issued", "auth failed"} <= {r["action"] for r in everything}


@pytest.mark.parametrize(("query", "message"), [
    ("?action=nonsense", "action must be one of"),
    ("?since=yesterday", "since must be an ISO-8601"),
    ("?limit=0", "limit must be a whole number"),
    ("?offset=-1", "offset must be a whole number"),
])
def test_bad_audit_filters_are_a_clear_400(client, query, message):
    response = client.get("/api/audit" + query, headers=AUTH)
    assert response.status_code == 400 and message in response.get_json()["message"]
