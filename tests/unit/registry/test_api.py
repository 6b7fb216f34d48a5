"""The registry's API through Flask's test client, on a real SQLite file shared with
Central's store: who may do what, the four operations, the audit trail and the log."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from cloud.central.store import Store
from cloud.registry import ca
from cloud.registry.app import create_app
from cloud.registry.ratelimit import FailureLimiter
from protocol import auth

TOKEN = "enrol-Zq8-token-of-the-site"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"location": "Car park A, bay 1", "price_eur_kwh": "0.35"}
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def site():
    return ca.new_ca("Test site CA", NOW)


@pytest.fixture
def store(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    yield store
    store.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def client(store, clock):
    app = create_app({"STORE": store, "ENROLL_TOKEN": TOKEN, "CLOCK": clock,
                      "NOW": lambda: NOW, "LIMITER": FailureLimiter(limit=3, window=60)})
    return app.test_client()


def as_cp(site, cp_id: str) -> dict:
    """What werkzeug's TLS server puts in the environ for a verified client certificate."""
    pem = ca.pem_cert(ca.issue_client(site, cp_id, NOW).cert).decode()
    return {"environ_overrides": {"SSL_CLIENT_CERT": pem, "REMOTE_ADDR": "10.0.0.7"}}


def audit_rows(store) -> list[dict]:
    rows = []
    for row in reversed(store.audit_log(100)):
        rows.append({name: row[name] for name in
                     ("actor", "source", "action", "cp_id", "params", "outcome")})
    return rows


def test_register_once_with_the_token_then_update(client, store):
    created = client.put("/api/v1/cps/CP1", json=BODY, headers=AUTH)
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    secret = created.json["secret"]
    assert created.json == {"cp_id": "CP1", "secret": secret}
    assert store.secret_key("CP1") == auth.secret_key(secret).hex()  # what Central checks
    assert store.cp("CP1")["location"] == BODY["location"]
    updated = client.put("/api/v1/cps/CP1", json={"location": "Bay 2", "price_eur_kwh": 0.4},
                         headers=AUTH)
    assert updated.status_code == 200
    assert "secret" not in updated.json and secret not in updated.get_data(as_text=True)
    assert (updated.json["location"], updated.json["price_eur_kwh"]) == ("Bay 2", "0.4")
    assert store.secret_key("CP1") == auth.secret_key(secret).hex()  # unchanged
    assert [(r["action"], r["outcome"], r["params"]["new"]) for r in audit_rows(store)] == [
        ("registered", "ok", True), ("registered", "ok", False)]


def test_get_shows_the_registration_state_never_a_secret(client, store):
    secret = client.put("/api/v1/cps/CP1", json=BODY, headers=AUTH).json["secret"]
    store.set_last_auth("CP1", "2026-03-01T11:59:00.000Z")
    state = client.get("/api/v1/cps/CP1", headers=AUTH)
    assert state.status_code == 200
    assert state.json == {"cp_id": "CP1", "location": BODY["location"], "price_eur_kwh": "0.35",
                          "registered_since": store.cp("CP1")["created_at"],
                          "last_auth": "2026-03-01T11:59:00.000Z", "has_key": False,
                          "key_id": None, "key_age_s": None}
    assert secret not in state.get_data(as_text=True)
    assert client.get("/api/v1/cps/CP9", headers=AUTH).json == {
        "error": "CP CP9 is not registered"}


def test_deregister_and_rotate(client, store):
    old = client.put("/api/v1/cps/CP1", json=BODY, headers=AUTH).json["secret"]
    rotated = client.post("/api/v1/cps/CP1/credentials", headers=AUTH)
    assert rotated.status_code == 200
    new = rotated.json["secret"]
    assert new != old and store.secret_key("CP1") == auth.secret_key(new).hex()
    gone = client.delete("/api/v1/cps/CP1", headers=AUTH)
    assert (gone.status_code, gone.json) == (200, {"cp_id": "CP1", "deregistered": True})
    assert not store.knows("CP1")
    for response in (client.delete("/api/v1/cps/CP1", headers=AUTH),
                     client.post("/api/v1/cps/CP1/credentials", headers=AUTH),
                     client.get("/api/v1/cps/CP1", headers=AUTH)):
        assert (response.status_code, response.json) == (
            404, {"error": "CP CP1 is not registered"})
    actions = [(r["action"], r["outcome"]) for r in audit_rows(store)]
    assert actions == [("registered", "ok"), ("credentials rotated", "ok"),
                       ("deregistered", "ok"), ("deregistered", "refused"),
                       ("credentials rotated", "refused")]


def test_a_client_certificate_acts_on_its_own_cp_only(client, store, site):
    created = client.put("/api/v1/cps/CP1", json=BODY, **as_cp(site, "CP1"))
    assert created.status_code == 201
    assert client.get("/api/v1/cps/CP1", **as_cp(site, "CP1")).status_code == 200
    other = client.put("/api/v1/cps/CP2", json=BODY, **as_cp(site, "CP1"))
    assert (other.status_code, other.json) == (
        403, {"error": "the client certificate is for CP 'CP1', not 'CP2'"})
    assert client.delete("/api/v1/cps/CP2", **as_cp(site, "CP1")).status_code == 403
    assert not store.knows("CP2")
    rows = audit_rows(store)
    assert (rows[0]["actor"], rows[0]["source"]) == ("cp", "10.0.0.7")
    assert rows[0]["params"]["credential"] == "client certificate CN=CP1"
    assert rows[1]["action"] == "auth failed" and rows[1]["cp_id"] == "CP2"


@pytest.mark.parametrize("headers, status, reason", [
    ({}, 401, "no credentials"),
    ({"Authorization": "Bearer wrong"}, 403, "wrong enrollment token"),
    ({"Authorization": f"Basic {TOKEN}"}, 401, "malformed Authorization header"),
])
def test_without_the_right_credentials_nothing_happens(client, store, headers, status, reason):
    response = client.put("/api/v1/cps/CP1", json=BODY, headers=headers)
    assert response.status_code == status
    assert reason in response.json["error"]
    assert ("WWW-Authenticate" in response.headers) == (status == 401)
    assert not store.knows("CP1")
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["params"]["operation"]) == (
        "auth failed", "refused", "register")
    assert TOKEN not in json.dumps(row)


def test_failed_attempts_are_rate_limited_per_address(client, store, clock):
    for _ in range(3):
        assert client.get("/api/v1/cps/CP1", headers={"Authorization": "Bearer x"}
                          ).status_code == 403
    limited = client.put("/api/v1/cps/CP1", json=BODY, headers=AUTH)  # right token, too late
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"
    assert "too many failed attempts" in limited.json["error"]
    assert not store.knows("CP1")
    other = client.put("/api/v1/cps/CP1", json=BODY, headers=AUTH,
                       environ_overrides={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 201  # another address is not affected
    clock.now += 45
    assert client.get("/api/v1/cps/CP1", headers=AUTH).headers["Retry-After"] == "15"
    clock.now += 15
    assert client.get("/api/v1/cps/CP1", headers=AUTH).status_code == 200


@pytest.mark.parametrize("data, status, reason", [
    (b"{oops", 400, "body is not valid JSON"),
    (json.dumps({**BODY, "cp_id": "CP2"}).encode(), 400,
     "the CP id in the body ('CP2') differs from the path ('CP1')"),
    (json.dumps({**BODY, "price_eur_kwh": "free"}).encode(), 400, "price must be a decimal"),
    (b'{"location": "' + b"x" * 5000 + b'"}', 413, "body too large (limit 4096 bytes)"),
])
def test_bad_input_is_a_clear_4xx_and_registers_nothing(client, store, data, status, reason):
    response = client.put("/api/v1/cps/CP1", data=data, headers={
        **AUTH, "Content-Type": "application/json"})
    assert response.status_code == status
    assert reason in response.json["error"]
    assert not store.knows("CP1")


def test_a_bad_cp_id_or_route_is_a_json_4xx(client):
    assert client.put("/api/v1/cps/bad%20id", json=BODY, headers=AUTH).json["error"].startswith(
        "bad CP id 'bad id'")
    assert client.get("/api/v2/whatever").status_code == 404
    assert "no such endpoint" in client.get("/api/v2/whatever").json["error"]
    patch = client.patch("/api/v1/cps/CP1", headers=AUTH)
    assert (patch.status_code, patch.json) == (405, {
        "error": "method not allowed on this endpoint"})


def test_refused_input_is_audited(client, store):
    client.put("/api/v1/cps/CP1", data=b"{oops", headers=AUTH)
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"]) == ("refused input", "refused")
    assert row["params"]["reason"].startswith("body is not valid JSON")


def test_secrets_and_the_token_never_reach_the_trail_or_the_log(client, store, caplog):
    caplog.set_level(logging.DEBUG)
    secret = client.put("/api/v1/cps/CP1", json=BODY, headers=AUTH).json["secret"]
    rotated = client.post("/api/v1/cps/CP1/credentials", headers=AUTH).json["secret"]
    client.get("/api/v1/cps/CP1", headers={"Authorization": f"Bearer {TOKEN}x"})
    client.delete("/api/v1/cps/CP1", headers=AUTH)
    trail = json.dumps(store.audit_log(100))
    lines = [r.getMessage() for r in caplog.records if r.name == "evcharging.audit"]
    assert len(lines) == 4 and all(json.loads(line)["source"] for line in lines)
    for text in (trail, caplog.text):
        for value in (secret, rotated, TOKEN, auth.secret_key(secret).hex()):
            assert value not in text
