"""The data shapes of Central's REST API, as OpenAPI 3.0 schemas (the ``components``
of :mod:`cloud.central.openapi`).  Objects are open (a view may grow a field) but every
field named here has the type given; ``nullable`` fields may be ``null``."""

from __future__ import annotations

from typing import Any

from cloud.central.network_errors import PARTS


def text(**extra: Any) -> dict[str, Any]:
    return {"type": "string", **extra}


def maybe(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def obj(required: tuple[str, ...], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def listed(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


DECIMAL = text(description="a decimal number, exact (e.g. \"0.35\")")
INSTANT = text(description="an ISO-8601 UTC time")
STOP_REASONS = {"type": "array", "items": text()}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj(("error", "status", "message"), error=text(), status={"type": "integer"},
                 message=text(description="one line saying what was wrong")),
    "Cp": obj(("id", "location", "price_eur_kwh", "state", "stop_reasons"),
              id=text(), location=text(), price_eur_kwh=DECIMAL,
              state=text(enum=["ACTIVATED", "STOPPED", "SUPPLYING", "AUTHORIZED", "BROKEN",
                               "DISCONNECTED"]),
              driver_id=maybe(text()), kw=maybe(DECIMAL), kwh=maybe(DECIMAL),
              eur=maybe(DECIMAL), session_id=maybe(text()), started_at=maybe(INSTANT),
              stop_reasons=STOP_REASONS, updated_at=maybe(INSTANT),
              registered_at=maybe(INSTANT), last_auth_at=maybe(INSTANT),
              key_id=maybe(text()), key_issued_at=maybe(INSTANT),
              key_problems={"type": "integer"}, key_problem=maybe({"type": "object"})),
    "Deregistered": obj(("deregistered",), cp_id=text(), driver_id=text(),
                        deregistered={"type": "boolean", "enum": [True]}),
    "CpChange": {**obj((), location=text(maxLength=200),
                       price_eur_kwh={"oneOf": [DECIMAL, {"type": "number", "minimum": 0}]}),
                 "additionalProperties": False, "minProperties": 1},
    "Session": obj(("id", "cp_id", "status"), id=text(), cp_id=text(),
                   driver_id=maybe(text()), source=maybe(text()),
                   price_eur_kwh=maybe(DECIMAL), authorized_at=maybe(INSTANT),
                   started_at=maybe(INSTANT), ended_at=maybe(INSTANT), kwh=maybe(DECIMAL),
                   eur=maybe(DECIMAL), reason=maybe(text()),
                   status=text(enum=["authorized", "supplying", "ended", "denied",
                                     "expired"])),
    "Totals": obj(("count", "kwh", "eur"), count={"type": "integer"}, kwh=DECIMAL,
                  eur=DECIMAL),
    "Driver": obj(("id",), id=text(), created_at=maybe(INSTANT),
                  session=maybe(obj(("cp_id", "session_id", "status"), cp_id=text(),
                                    location=maybe(text()), session_id=text(),
                                    status=text(enum=["authorized", "supplying"]))),
                  last_ticket=maybe(obj(("session_id", "cp_id"), session_id=text(),
                                        cp_id=text(), started_at=maybe(INSTANT),
                                        ended_at=maybe(INSTANT), kwh=maybe(DECIMAL),
                                        eur=maybe(DECIMAL), reason=maybe(text())))),
    "Summary": obj(("cps", "states"), cps={"type": "integer"},
                   states={"type": "object", "additionalProperties": {"type": "integer"}}),
    "Errors": obj(("ongoing", "errors"),
                  ongoing={"type": "array", "items": obj(
                      ("part", "text"), part=text(enum=list(PARTS)), text=text(),
                      since=maybe(INSTANT))},
                  errors={"type": "array", "items": obj(
                      ("id", "ts", "part", "action", "text"), id={"type": "integer"},
                      ts=INSTANT, part=text(enum=list(PARTS)), cp_id=maybe(text()),
                      action=text(), text=text())}),
    "Request": obj(("session_id", "cp_id"), session_id=text(), cp_id=text(),
                   driver_id=maybe(text()), source=maybe(text()), since=maybe(INSTANT)),
    "Message": obj(("ts", "level", "text"), ts=INSTANT, level=text(), cp_id=maybe(text()),
                   text=text()),
    "Power": obj(("points",), span={"type": "number"}, step={"type": "number"},
                 now=maybe(INSTANT),
                 points={"type": "array", "items": obj(("t", "kw"), t=INSTANT, kw=DECIMAL)}),
    "AuditRecord": obj(("id", "ts", "actor", "action", "outcome"), id={"type": "integer"},
                       ts=INSTANT, actor=text(), source=maybe(text()), action=text(),
                       cp_id=maybe(text()), params={"type": "object"}, outcome=text()),
    "Alert": obj(("location", "temperature_c", "threshold_c", "observed_at", "raised_at",
                  "raised_by"), location=text(), temperature_c=DECIMAL,
                 threshold_c=DECIMAL, observed_at=INSTANT, raised_at=INSTANT,
                 raised_by=text()),
    "Reading": obj(("temperature_c", "threshold_c", "observed_at"),
                   temperature_c={"oneOf": [DECIMAL, {"type": "number"}]},
                   threshold_c={"oneOf": [DECIMAL, {"type": "number"}]},
                   observed_at=INSTANT),
    "WeatherReport": obj(("status", "locations"), status=text(minLength=1),
                         since=maybe(INSTANT), received_at=INSTANT,
                         locations={"type": "array", "items": obj(
                             ("location",), location=text(minLength=1, maxLength=100),
                             temperature_c=maybe(DECIMAL), observed_at=maybe(INSTANT),
                             alert={"type": "boolean"}, error=maybe(text()))}),
    "OcppCommand": obj((), type=text(enum=["Soft", "Hard"]),
                       connectorId={"type": "integer", "minimum": 0, "maximum": 1000},
                       keys={"type": "array", "items": text(minLength=1, maxLength=50),
                             "maxItems": 100},
                       key=text(minLength=1, maxLength=50), value=text(minLength=1,
                                                                       maxLength=500),
                       requestedMessage=text(enum=[
                           "BootNotification", "DiagnosticsStatusNotification",
                           "FirmwareStatusNotification", "Heartbeat", "MeterValues",
                           "StatusNotification"])),
    "OcppAnswer": obj((), status=text(), configurationKey={"type": "array", "items": {
        "type": "object"}}, unknownKey={"type": "array", "items": text()}),
    "Health": obj(("status",), status=text(enum=["ok", "degraded"]), kafka={"type": "boolean"}),
}
