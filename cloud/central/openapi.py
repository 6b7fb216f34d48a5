"""Central's REST API as an OpenAPI 3.0 document, served at ``GET /api/openapi.json``.

Written as data, beside the routes it describes; tests hold the two together (every
Flask route under ``/api``, ``/healthz`` and ``/metrics`` is here and nothing else is:
``tests/unit/central/test_openapi.py``) and schemathesis holds the live server to it
(``tests/integration/test_openapi.py``).  The shapes are in
:mod:`cloud.central.openapi_schemas`.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from cloud.central.ocpp.api import ACTIONS as OCPP_ACTIONS
from cloud.central.openapi_schemas import SCHEMAS, listed, ref, text
from protocol import rules
from protocol.states import CpState

CP_STATES = [str(state) for state in CpState]

ERRORS = {400: "bad input", 401: "bearer token missing or wrong", 403: "wrong token",
          404: "not found", 409: "conflict", 413: "body too large", 429: "too many requests",
          502: "the CP answered with an error", 504: "the CP did not answer in time"}
ADMIN = [{"admin": []}]
WEATHER = [{"weatherOffice": []}]


def _json(schema: dict[str, Any], description: str = "OK",
          headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


TOTAL = {"X-Total-Count": {"description": "rows in the whole (filtered) list",
                           "schema": {"type": "integer"}}}


def _param(name: str, where: str = "query", **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path",
            "schema": schema or {"type": "string"}}


def _op(summary: str, ok: dict[str, Any], errors: tuple[int, ...] = (),
        params: list | None = None, body: str | None = None, security: list | None = None,
        more: dict[int, dict] | None = None) -> dict[str, Any]:
    responses = {"200": ok, **{str(k): v for k, v in (more or {}).items()}}
    codes = set(errors) | ({401, 403} if security else set()) | ({400, 413} if body else set())
    for code in sorted(codes):
        responses[str(code)] = _json(ref("Error"), ERRORS[code])
    operation = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": ref(body)}}}
    if security:
        operation["security"] = security
    return operation


def _page(limit_max: int, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [_param("limit", type="integer", minimum=1, maximum=limit_max),
            _param("offset", type="integer", minimum=0, maximum=10**9), *extra]


CP_ID = _param("cp_id", "path", type="string", pattern=rules.CP_ID.pattern)
DRIVER_ID = _param("driver_id", "path", type="string", pattern=rules.DRIVER_ID.pattern)
OCPP_ACTION = _param("action", "path", type="string", enum=list(OCPP_ACTIONS))
LOCATION = _param("location", "path", type="string", minLength=1, maxLength=100)
FILTER = [_param("cp_id"), _param("driver_id"), _param("day", format="date"),
          _param("status", enum=["authorized", "supplying", "ended", "denied", "expired"])]
CP = _json(ref("Cp"))
CPS = _json(listed("Cp"))

PATHS: dict[str, dict[str, Any]] = {
    "/api/cps": {"get": _op("every CP, by id; q: with this text in its id or location, "
                            "state: in this state", _json(listed("Cp"), headers=TOTAL),
                            (400,), _page(10**6, _param("q", maxLength=100),
                                          _param("state", enum=list(CP_STATES))))},
    "/api/summary": {"get": _op("how many CPs, and how many in each state",
                                _json(ref("Summary")))},
    "/api/errors": {"get": _op(
        "errors from every part of the network: what is wrong now, and the errors "
        "recorded newest first", _json(ref("Errors"), headers=TOTAL), (400,),
        _page(1000, _param("since")))},
    "/api/cps/{cp_id}": {
        "parameters": [CP_ID],
        "get": _op("one CP", CP, (404,)),
        "put": _op("change a CP's location and/or price (audited)", CP, (404,),
                   body="CpChange", security=ADMIN),
        "delete": _op("deregister a CP: its link dropped, its row and keys gone, its "
                      "sessions kept (audited)", _json(ref("Deregistered")), (404,),
                      security=ADMIN)},
    "/api/cps/{cp_id}/stop": {"parameters": [CP_ID], "post": _op(
        "take a CP out of service (admin stop)", CP, (404,), security=ADMIN)},
    "/api/cps/{cp_id}/resume": {"parameters": [CP_ID], "post": _op(
        "lift the admin stop", CP, (404,), security=ADMIN)},
    "/api/cps/{cp_id}/key": {"parameters": [CP_ID], "delete": _op(
        "revoke the CP's keys until it re-authenticates", CP, (404,), security=ADMIN)},
    "/api/cps/{cp_id}/ocpp/{action}": {"parameters": [CP_ID, OCPP_ACTION], "post": _op(
        "an operation on an OCPP charger (Reset, UnlockConnector, GetConfiguration, "
        "ChangeConfiguration, TriggerMessage; audited): the charger's answer",
        _json(ref("OcppAnswer")), (404, 409, 502, 504), body="OcppCommand", security=ADMIN)},
    "/api/cps/stop": {"post": _op("stop every CP", CPS, security=ADMIN)},
    "/api/cps/resume": {"post": _op("resume every CP", CPS, security=ADMIN)},
    "/api/sessions": {"get": _op(
        "sessions newest first, filtered; status=supplying: the supplies under way",
        _json(listed("Session"), headers=TOTAL), (400,), _page(1000, *FILTER))},
    "/api/sessions/totals": {"get": _op("count, kWh and EUR of the filtered sessions",
                                        _json(ref("Totals")), (400,), FILTER)},
    "/api/drivers": {"get": _op("every driver, by id, with its supply under way and "
                                "its last ticket", _json(listed("Driver"), headers=TOTAL),
                                (400,), _page(10**6))},
    "/api/drivers/{driver_id}": {
        "parameters": [DRIVER_ID],
        "get": _op("one driver", _json(ref("Driver")), (404,)),
        "put": _op("register a driver (201), or confirm one registered already (200)",
                   _json(ref("Driver")), (400,), security=ADMIN,
                   more={201: _json(ref("Driver"), "registered")}),
        "delete": _op("remove a driver (its sessions stay; audited)",
                      _json(ref("Deregistered")), (404,), security=ADMIN)},
    "/api/requests": {"get": _op("authorizations under way", _json(
        listed("Request"), headers=TOTAL), (400,), _page(10**6))},
    "/api/messages": {"get": _op("the last application messages, oldest first", _json(
        listed("Message")), (400,), [_param("limit", type="integer", minimum=1, maximum=500)])},
    "/api/power": {"get": _op("the fleet's total kW over the last hour", _json(ref("Power")))},
    "/api/audit": {"get": _op("the audit trail newest first", _json(
        listed("AuditRecord"), headers=TOTAL), (400,), _page(
            1000, _param("cp_id"), _param("action"), _param("since")), security=ADMIN)},
    "/api/alerts": {"get": _op("every weather alert raised", _json(
        listed("Alert"), headers=TOTAL), (400,), _page(10**6))},
    "/api/alerts/{location}": {
        "parameters": [LOCATION],
        "put": _op("raise a weather alert (201 new, 200 raised already)", _json(ref("Alert")),
                   (400,), body="Reading", security=WEATHER,
                   more={201: _json(ref("Alert"), "raised")}),
        "delete": _op("clear a weather alert", _json(ref("Alert")), (400, 404),
                      security=WEATHER)},
    "/api/weather": {
        "get": _op("the weather office's last report (null before any)",
                   _json({**ref("WeatherReport"), "nullable": True})),
        "put": _op("the weather office's report", _json(ref("WeatherReport")),
                   body="WeatherReport", security=WEATHER)},
    "/api/openapi.json": {"get": _op("the OpenAPI document of this API",
                                     _json({"type": "object"}))},
    "/healthz": {"get": _op("liveness (degraded while Kafka is unreachable)",
                            _json(ref("Health")))},
    "/metrics": {"get": _op("Prometheus metrics", {"description": "OK", "content": {
        "text/plain": {"schema": text()}}})},
}

for _path, _item in PATHS.items():  # a path Flask's routing cannot match is a 404 too
    for _operation in (x for key, x in _item.items() if key != "parameters" and "{" in _path):
        _operation["responses"].setdefault("404", _json(ref("Error"), ERRORS[404]))

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "evcharging Central", "version": "1",
             "description": "Reads are open; administration needs the admin bearer token "
                            "(ev-central --admin-token-file), the weather office's calls "
                            "its own service token (--weather-token-file)."},
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "securitySchemes": {
        "admin": {"type": "http", "scheme": "bearer",
                  "description": "the administrator's token"},
        "weatherOffice": {"type": "http", "scheme": "bearer",
                          "description": "the weather office's service token"}}},
}


def serve():
    return jsonify(DOCUMENT)
