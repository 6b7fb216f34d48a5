"""Administrators' operations on an OCPP charger over REST:
``POST /api/cps/<cp_id>/ocpp/<action>`` with a JSON body, the admin bearer token,
audited (``cp command``, with what the charger answered).

Actions (body fields; every one optional unless said):
``reset`` (``type``: Soft or Hard, default Soft), ``unlock_connector`` (``connectorId``,
default 1), ``get_configuration`` (``keys``: a list of configuration key names, all when
absent), ``change_configuration`` (``key`` and ``value``, required), ``trigger_message``
(``requestedMessage``, required; ``connectorId``).  The answer is the charger's, in
OCPP's words (``{"status": "Accepted"}``, ``{"configurationKey": [...]}``...).

404: no such CP or action; 409: the CP is not connected over OCPP; 400: a bad body;
502: the charger answered with a CallError; 504: it did not answer in time.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from cloud.central.api import admin_required
from cloud.central.errors import UnknownCp

bp = Blueprint("ocpp_api", __name__, url_prefix="/api")

ACTIONS = ("reset", "unlock_connector", "get_configuration", "change_configuration",
           "trigger_message")
RESETS = ("Soft", "Hard")
TRIGGERS = ("BootNotification", "DiagnosticsStatusNotification",
            "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StatusNotification")
MAX_KEY = 50  # OCPP 1.6 CiString50
MAX_VALUE = 500  # CiString500
_SECRET_KEY = re.compile(r"(key|secret|password|token)", re.IGNORECASE)


class BadBody(ValueError):
    pass


def _connector(body: dict, default: int | None, lowest: int) -> int | None:
    value = body.get("connectorId", default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= 1000:
        raise BadBody(f"connectorId must be an integer from {lowest} to 1000")
    return value


def _text(body: dict, name: str, most: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= most:
        raise BadBody(f"{name} must be a string of 1 to {most} characters")
    return value


def payload(action: str, body: dict) -> tuple[Any, dict[str, Any]]:
    """The OCPP call for ``action`` and the parameters the audit trail keeps (never a
    value of a key whose name looks like a secret, such as AuthorizationKey)."""
    if action == "reset":
        kind = body.get("type", "Soft")
        if kind not in RESETS:
            raise BadBody(f"type must be one of {', '.join(RESETS)}")
        return call.Reset(type=kind), {"type": kind}
    if action == "unlock_connector":
        connector = _connector(body, 1, 1)
        return call.UnlockConnector(connector_id=connector), {"connector_id": connector}
    if action == "get_configuration":
        keys = body.get("keys")
        if keys is not None and (not isinstance(keys, list) or len(keys) > 100 or not all(
                isinstance(k, str) and 0 < len(k) <= MAX_KEY for k in keys)):
            raise BadBody(f"keys must be a list of at most 100 names of 1 to {MAX_KEY} "
                          "characters")
        return call.GetConfiguration(key=keys), {"keys": keys or "all"}
    if action == "change_configuration":
        key, value = _text(body, "key", MAX_KEY), _text(body, "value", MAX_VALUE)
        shown = "[redacted]" if _SECRET_KEY.search(key.replace("Interval", "")) else value
        return call.ChangeConfiguration(key=key, value=value), {"name": key, "value": shown}
    requested = body.get("requestedMessage")
    if requested not in TRIGGERS:
        raise BadBody(f"requestedMessage must be one of {', '.join(TRIGGERS)}")
    connector = _connector(body, None, 0)
    return (call.TriggerMessage(requested_message=requested, connector_id=connector),
            {"requested_message": requested, "connector_id": connector})


def _answer(result: Any) -> dict[str, Any]:
    fields = {k: v for k, v in dataclasses.asdict(result).items() if v is not None}
    return snake_to_camel_case(fields)


@bp.post("/cps/<cp_id>/ocpp/<action>")
@admin_required
def ocpp_command(cp_id: str, action: str, actor: str):
    fleet = current_app.config["FLEET"]
    if action not in ACTIONS:
        abort(404, description=f"no OCPP action {action!r}: one of {', '.join(ACTIONS)}")
    if fleet.cp(cp_id) is None:
        raise UnknownCp(cp_id)
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        abort(400, description="the body must be a JSON object")
    try:
        if body is not None and not isinstance(body, dict):
            raise BadBody("the body must be a JSON object")
        message, params = payload(action, body or {})
    except BadBody as error:
        abort(400, description=str(error))
    endpoint = current_app.config.get("OCPP")
    if endpoint is None or cp_id not in endpoint.active:
        abort(409, description=f"CP {cp_id} is not connected over OCPP")
    try:
        answer = _answer(endpoint.call(cp_id, message))
    except KeyError:
        abort(409, description=f"CP {cp_id} is not connected over OCPP")
    except TimeoutError:
        fleet.on_cp_command(cp_id, actor, action, params, "failed", "no answer")
        abort(504, description=f"CP {cp_id} did not answer {type(message).__name__} in time")
    except OCPPError as error:
        fleet.on_cp_command(cp_id, actor, action, params, "failed", f"CallError {error.code}")
        abort(502, description=f"CP {cp_id} answered {type(message).__name__} with "
                               f"{error.code}: {error.description}"[:300])
    status = answer.get("status")
    outcome = "ok" if status in (None, "Accepted", "Unlocked", "RebootRequired") else "refused"
    summary = status or f"{len(answer.get('configurationKey', []))} keys"
    fleet.on_cp_command(cp_id, actor, action, params, outcome, summary)
    return jsonify(answer)
