"""PUT/DELETE /api/cps/<id> and GET/PUT/DELETE /api/drivers/<id>: admin, audited."""

from __future__ import annotations

import pytest

from cloud.central.store import Store
from tests.unit.central.conftest import AUTH

ADMIN_CALLS = [("put", "/api/cps/CP3", {"price_eur_kwh": "0.50"}), ("delete", "/api/cps/CP3", None),
               ("put", "/api/drivers/D9", None), ("delete", "/api/drivers/D8", None)]


def audit_of(fleet, action):
    return [row for row in fleet.store.audit_log() if row["action"] == action]


def test_put_cp_changes_price_and_location_and_is_audited(client, fleet, site):
    response = client.put("/api/cps/CP3", json={"price_eur_kwh": "0.55", "location": "Muelle 4"},
                          headers=AUTH)
    assert response.status_code == 200
    assert (response.get_json()["price_eur_kwh"], response.get_json()["location"]) == (
        "0.55", "Muelle 4")
    assert fleet.store.cp("CP3")["price_eur_kwh"] == "0.55"
    assert client.get("/api/cps/CP3").get_json()["location"] == "Muelle 4"
    session_id = site.authorize("CP3", "D8")
    assert fleet.sessions(cp_id="CP3")[0]["id"] == session_id
    assert fleet.sessions(cp_id="CP3")[0]["price_eur_kwh"] == "0.55"
    record = audit_of(fleet, "registered")[0]
    assert (record["actor"], record["cp_id"]) == ("admin", "CP3")
    assert record["params"] == {"new": False, "location": "Muelle 4", "price_eur_kwh": "0.55"}


def test_put_cp_registered_elsewhere_a_moment_ago(client, fleet):
    other = Store(fleet.store.path)  # ev-central cp add, another process
    other.add_cp("CP9", "Puerto", "0.30")
    response = client.put("/api/cps/CP9", json={"location": "Puerto 2"}, headers=AUTH)
    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["location"]) == ("CP9", "Puerto 2")
    other.close()


def test_put_cp_price_alone_keeps_the_location(client, fleet):
    client.put("/api/cps/CP1", json={"price_eur_kwh": 0.2}, headers=AUTH)
    assert fleet.cp("CP1")["location"] == "Calle Mayor 1, Alicante"
    assert fleet.cp("CP1")["price_eur_kwh"] == "0.2"


@pytest.mark.parametrize("body, message", [
    ({}, "nothing to change"), ({"price_eur_kwh": "-1"}, "price must be"),
    ({"price_eur_kwh": "abc"}, "price must be"), ({"colour": "red"}, "unknown field 'colour'"),
    ({"location": "x" * 201}, "location must be text"), ([1], "must be a JSON object"),
    ({"location": 5}, "location must be text"),
])
def test_put_cp_refuses_bad_bodies_with_one_line(client, fleet, body, message):
    response = client.put("/api/cps/CP1", json=body, headers=AUTH)
    assert response.status_code == 400
    assert message in response.get_json()["message"]
    assert fleet.store.cp("CP1")["price_eur_kwh"] == "0.35"


def test_unknown_cp_or_driver_is_404(client):
    assert client.put("/api/cps/NOPE", json={"price_eur_kwh": "1"}, headers=AUTH).status_code == 404
    assert client.delete("/api/cps/NOPE", headers=AUTH).status_code == 404
    assert client.get("/api/drivers/NOPE").status_code == 404
    assert client.delete("/api/drivers/NOPE", headers=AUTH).get_json()["message"] == (
        "unknown driver 'NOPE'")


def test_delete_cp_deregisters_it_and_keeps_its_sessions(client, fleet, sessions):
    response = client.delete("/api/cps/CP2", headers=AUTH)
    assert response.get_json() == {"cp_id": "CP2", "deregistered": True}
    assert fleet.store.cp("CP2") is None
    assert client.get("/api/cps/CP2").status_code == 404
    assert "CP2" not in [cp["id"] for cp in client.get("/api/cps").get_json()]
    assert "CP2: deregistered: its link is dropped" in [
        f"{x['cp_id']}: {x['text']}" for x in fleet.messages()]
    assert sessions["CP2/D7"] in [s["id"] for s in fleet.sessions(cp_id="CP2")]
    assert audit_of(fleet, "deregistered")[0]["cp_id"] == "CP2"
    fleet.sweep()
    assert fleet.cp("CP2") is None


def test_drivers_put_get_delete(client, fleet):
    created = client.put("/api/drivers/D9", headers=AUTH)
    assert created.status_code == 201
    assert created.get_json()["id"] == "D9"
    again = client.put("/api/drivers/D9", headers=AUTH)
    assert (again.status_code, again.get_json()) == (200, created.get_json())
    assert client.get("/api/drivers/D9").get_json() == created.get_json()
    assert client.delete("/api/drivers/D9", headers=AUTH).get_json() == {
        "driver_id": "D9", "deregistered": True}
    assert client.get("/api/drivers/D9").status_code == 404
    assert [row["params"] for row in audit_of(fleet, "deregistered")] == [{"driver_id": "D9"}]
    assert audit_of(fleet, "registered")[0]["params"] == {"driver_id": "D9"}


def test_put_driver_refuses_a_bad_id(client):
    response = client.put("/api/drivers/" + "d" * 80, headers=AUTH)
    assert response.status_code == 400
    assert "bad driver id" in response.get_json()["message"]


@pytest.mark.parametrize("method, path, body", ADMIN_CALLS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_admin_calls_need_the_token(client, fleet, method, path, body, headers):
    before = (fleet.cps(), fleet.drivers())
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401
    assert (fleet.cps(), fleet.drivers()) == before
