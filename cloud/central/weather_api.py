"""The weather office's side of the REST API (JSON, under ``/api``).

    GET    /api/alerts             every alert raised (open, like GET /api/cps)
    GET    /api/weather            the office's last report (open; null before any)
    PUT    /api/alerts/<location>  {"temperature_c", "threshold_c", "observed_at"}
                                   -> 201 the new alert, 200 when it was raised already
    DELETE /api/alerts/<location>  -> 200 the cleared alert, 404 when there is none
    PUT    /api/weather            {"status", "since", "locations": [...]} -> 200

PUT and DELETE need ``Authorization: Bearer <the weather service token>``
(``ev-central --weather-token-file``): no token is 401, a wrong one 403, the admin token
included; without a configured service token every such call is 403.  Refusals are
audited (never the token).  The actor is ``service@<client address>``.
"""

from __future__ import annotations

import functools
import hmac

from flask import Blueprint, abort, current_app, jsonify, request

from cloud.central.alerts import BadAlert, location_name, reading, weather_report
from cloud.central.api import paged
from protocol.messages import utc_now

bp = Blueprint("weather_api", __name__, url_prefix="/api")


def _fleet():
    return current_app.config["FLEET"]


def _matches(token: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(token.encode(), str(expected).encode())


def weather_office_required(view):
    """Check the weather office's bearer token in constant time; pass ``actor=`` on."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        expected = current_app.config.get("WEATHER_TOKEN")
        peer = request.remote_addr or "unknown"
        if scheme.lower() != "bearer" or not token:
            status, reason = 401, "weather service token missing"
        elif not expected:
            status, reason = 403, "Central has no weather service token (--weather-token-file)"
        elif _matches(token, expected):
            return view(*args, actor=f"service@{peer}", **kwargs)
        elif _matches(token, current_app.config.get("ADMIN_TOKEN")):
            status, reason = 403, "the admin token is not the weather service token"
        else:
            status, reason = 403, "wrong weather service token"
        _fleet().on_service_refused(peer, f"{request.method} {request.path}", reason)
        abort(status, description=reason)

    return wrapped


def _body() -> object:
    body = request.get_json(silent=True)
    if body is None:
        abort(400, description="the body must be JSON (Content-Type: application/json)")
    return body


def _checked(parse, *args):
    try:
        return parse(*args)
    except BadAlert as error:
        abort(400, description=str(error))


@bp.get("/alerts")
def list_alerts():
    return paged(_fleet().alerts())


@bp.put("/alerts/<path:location>")
@weather_office_required
def raise_alert(location: str, actor: str):
    name = _checked(location_name, location)
    alert, new = _fleet().raise_alert(name, _checked(reading, _body()), actor)
    return jsonify(alert.as_json()), 201 if new else 200


@bp.delete("/alerts/<path:location>")
@weather_office_required
def clear_alert(location: str, actor: str):
    name = _checked(location_name, location)
    alert = _fleet().clear_alert(name, actor)
    if alert is None:
        abort(404, description=f"no weather alert for {name}")
    return jsonify(alert.as_json())


@bp.get("/weather")
def weather():
    return jsonify(_fleet().weather())


@bp.put("/weather")
@weather_office_required
def put_weather(actor: str):
    report = _checked(weather_report, _body(), utc_now())
    _fleet().set_weather(report)
    return jsonify(report)
