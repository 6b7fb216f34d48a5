"""Admin operations on OCPP chargers: each body becomes its OCPP call (or a 400), the
token is needed, and a CP that is not connected over OCPP is a 409 (the calls
themselves: tests/integration/test_central_ocpp.py)."""

import pytest
from ocpp.v16 import call

from cloud.central.ocpp.api import BadBody, payload
from tests.unit.central.conftest import AUTH


@pytest.mark.parametrize("action, body, message, params", [
    ("reset", {}, call.Reset(type="Soft"), {"type": "Soft"}),
    ("reset", {"type": "Hard"}, call.Reset(type="Hard"), {"type": "Hard"}),
    ("unlock_connector", {}, call.UnlockConnector(connector_id=1), {"connector_id": 1}),
    ("get_configuration", {"keys": ["HeartbeatInterval"]},
     call.GetConfiguration(key=["HeartbeatInterval"]), {"keys": ["HeartbeatInterval"]}),
    ("get_configuration", {}, call.GetConfiguration(), {"keys": "all"}),
    ("change_configuration", {"key": "HeartbeatInterval", "value": "60"},
     call.ChangeConfiguration(key="HeartbeatInterval", value="60"),
     {"name": "HeartbeatInterval", "value": "60"}),
    ("change_configuration", {"key": "AuthorizationKey", "value": "s3cr3t"},
     call.ChangeConfiguration(key="AuthorizationKey", value="s3cr3t"),
     {"name": "AuthorizationKey", "value": "[redacted]"}),
    ("trigger_message", {"requestedMessage": "StatusNotification", "connectorId": 1},
     call.TriggerMessage(requested_message="StatusNotification", connector_id=1),
     {"requested_message": "StatusNotification", "connector_id": 1}),
])
def test_each_action_is_its_call_and_what_the_audit_keeps(action, body, message, params):
    assert payload(action, body) == (message, params)


@pytest.mark.parametrize("action, body, match", [
    ("reset", {"type": "Warm"}, "type must be"),
    ("unlock_connector", {"connectorId": 0}, "connectorId"),
    ("unlock_connector", {"connectorId": True}, "connectorId"),
    ("get_configuration", {"keys": "HeartbeatInterval"}, "keys must be"),
    ("get_configuration", {"keys": [""]}, "keys must be"),
    ("change_configuration", {"key": "HeartbeatInterval"}, "value must be"),
    ("change_configuration", {"key": "K" * 51, "value": "1"}, "key must be"),
    ("trigger_message", {}, "requestedMessage"),
    ("trigger_message", {"requestedMessage": "Heartbeat", "connectorId": -1}, "connectorId"),
])
def test_a_bad_body_is_refused_saying_why(action, body, match):
    with pytest.raises(BadBody, match=match):
        payload(action, body)


def test_the_route_needs_the_token_a_known_action_and_cp_and_an_ocpp_connection(client):
    assert client.post("/api/cps/CP1/ocpp/reset", json={}).status_code == 401
    assert client.post("/api/cps/CP1/ocpp/explode", json={}, headers=AUTH).status_code == 404
    assert client.post("/api/cps/NOPE/ocpp/reset", json={}, headers=AUTH).status_code == 404
    bad = client.post("/api/cps/CP1/ocpp/reset", json={"type": "Warm"}, headers=AUTH)
    assert bad.status_code == 400 and "type must be" in bad.get_json()["message"]
    assert client.post("/api/cps/CP1/ocpp/reset", json=[1], headers=AUTH).status_code == 400
    response = client.post("/api/cps/CP1/ocpp/reset", json={}, headers=AUTH)
    assert response.status_code == 409
    assert response.get_json()["message"] == "CP CP1 is not connected over OCPP"


def test_the_readme_section_names_flags_actions_and_the_path_central_has():
    import re
    from pathlib import Path

    from cloud.central.cli import build_parser
    from cloud.central.ocpp.api import ACTIONS
    from cloud.central.ocpp.server import PATH, SUBPROTOCOL

    readme = (Path(__file__).parents[4] / "README.md").read_text()
    section = readme[readme.index("## Connecting an OCPP 1.6J charger"):]
    section = section[:section.index("\n## ", 1)]
    flags = {option for action in build_parser()._actions for option in action.option_strings}
    assert set(re.findall(r"--ocpp[a-z-]*", section)) <= flags
    assert {"--ocpp", "--ocpp-tls-cert", "--ocpp-tls-key"} <= set(
        re.findall(r"--ocpp[a-z-]*", section))
    assert set(re.findall(r"/ocpp/([a-z_]+)", section)) <= set(ACTIONS)
    assert f":9000{PATH}ACME-07" in section and f"`{SUBPROTOCOL}`" in section
