"""Central's HTTP face: the Flask app factory (flask ``examples/tutorial`` style).

``create_app(config)`` takes the live :class:`~cloud.central.fleet.Fleet` as ``FLEET``,
the admin bearer token as ``ADMIN_TOKEN``, the weather office's service token as
``WEATHER_TOKEN`` (optional: without it the office's calls are refused) and, for
information, the database path as ``DB``.  ``SSE_KEEPALIVE`` (seconds, default 15) sets
the ``/events`` keepalive period and ``SSE_MAX_CLIENTS`` (default 100) how many event
streams may be open at once.  ``OCPP``: the OCPP endpoint
(:class:`~cloud.central.ocpp.server.OcppServer`), when Central runs one.  Blueprints:
``api`` (REST under ``/api``), ``weather_api`` (alerts and the weather office's report,
under ``/api``), ``ocpp_api`` (operations on OCPP chargers, under ``/api``),
``dashboard`` (``/`` and ``/events``) and ``sessions`` (``/sessions`` and
``/sessions.csv``).
"""

from __future__ import annotations

import math
import re

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from cloud.central import api, dashboard, openapi, registry_api, sessions_page, weather_api
from cloud.central.errors import DomainError
from cloud.central.ocpp import api as ocpp_api

METRIC_PREFIX = "evcharging_"
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_:]")


def create_app(config: dict) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(SSE_KEEPALIVE=15.0, DB=None, MAX_CONTENT_LENGTH=64 * 1024)
    app.config.from_mapping(config)
    if app.config.get("FLEET") is None:
        raise ValueError("create_app needs the live Fleet as config['FLEET']")
    if not app.config.get("ADMIN_TOKEN"):
        raise ValueError("create_app needs a non-empty config['ADMIN_TOKEN']")

    if app.config.get("WEATHER_TOKEN") and app.config["WEATHER_TOKEN"] == app.config["ADMIN_TOKEN"]:
        raise ValueError("the weather service token must differ from the admin token")

    app.register_blueprint(api.bp)
    app.register_blueprint(registry_api.bp)
    app.register_blueprint(weather_api.bp)
    app.register_blueprint(ocpp_api.bp)
    app.add_url_rule("/api/openapi.json", "openapi", openapi.serve)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(sessions_page.bp)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, domain_error)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/metrics", "metrics", metrics)
    app.after_request(_security_headers)
    return app


CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


def _security_headers(response: Response) -> Response:
    """Everything the page needs comes from Central itself (the network is closed)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _http_error(error: HTTPException):
    """JSON errors under /api; Werkzeug's HTML page elsewhere."""
    if not request.path.startswith("/api"):
        return error
    response = jsonify(error=error.name, status=error.code, message=error.description)
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="evcharging"'
    return response


def domain_error(error: DomainError):
    """The one place a domain error becomes HTTP: UnknownCp 404, CpIdTaken 409, BadPrice
    400, ... with its reason as the message (the same JSON as every API error)."""
    response = jsonify(error=HTTP_STATUS_CODES.get(error.status, "Error"), status=error.status,
                       message=str(error))
    response.status_code = error.status
    return response


def healthz():
    """``ok``; with Kafka configured, ``degraded`` while it cannot be reached."""
    kafka = current_app.config["FLEET"].kafka()
    if kafka is None:
        return jsonify(status="ok")
    return jsonify(status="ok" if kafka["up"] else "degraded", kafka=bool(kafka["up"]))


def metrics():
    text = prometheus_text(current_app.config["FLEET"].metrics())
    return Response(text, content_type=PROMETHEUS_CONTENT_TYPE)


PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def prometheus_text(values: dict[str, float]) -> str:
    """Prometheus text exposition of ``{name: value}``; names get the evcharging_ prefix.

    A name may carry labels (``cps{state="BROKEN"}``); names ending in ``_total`` are
    counters, everything else a gauge.  One ``# TYPE`` line per metric family.
    """
    families: dict[str, list[str]] = {}
    for key, value in sorted(values.items()):
        name, brace, labels = str(key).partition("{")
        name = _metric_name(name)
        sample = f"{name}{brace}{labels} {_number(value)}"
        families.setdefault(name, []).append(sample)
    lines = []
    for name, samples in families.items():
        kind = "counter" if name.endswith("_total") else "gauge"
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(samples)
    return "".join(line + "\n" for line in lines)


def _metric_name(name: str) -> str:
    name = _NAME_CHARS.sub("_", name.strip())
    if not name.startswith(METRIC_PREFIX):
        name = METRIC_PREFIX + name
    return name


def _number(value: float) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return repr(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
