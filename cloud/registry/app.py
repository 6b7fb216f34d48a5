"""The registry's Flask app factory: ``create_app(config)``.

Config keys: ``STORE`` (a :class:`cloud.central.store.Store` on Central's database),
``ENROLL_TOKEN`` (the site's enrollment token, or None), ``LIMITER`` (a
:class:`~cloud.registry.ratelimit.FailureLimiter`), ``CLOCK`` (monotonic seconds, for
the limiter), ``NOW`` (an aware UTC datetime, for key ages) and ``CERT_CN`` (the common
name of the client certificate the TLS layer verified, from the WSGI environ; werkzeug
puts it in ``SSL_CLIENT_CERT``, a PEM, only for a certificate the site CA signed).
Every error is JSON ``{"error": reason}``, never an HTML page or a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from cryptography import x509
from flask import Flask
from werkzeug.exceptions import HTTPException

from cloud.registry.api import api, error
from cloud.registry.body import MAX_BODY
from cloud.registry.ca import common_name
from cloud.registry.ratelimit import FailureLimiter

log = logging.getLogger("cloud.registry")


def certificate_cn(environ: dict) -> str | None:
    """The common name of the verified client certificate, if one came."""
    pem = environ.get("SSL_CLIENT_CERT")
    if not pem:
        return None
    try:
        return common_name(x509.load_pem_x509_certificate(pem.encode()))
    except ValueError:
        return None


def create_app(config: dict) -> Flask:
    app = Flask(__name__)
    app.config.update(
        ENROLL_TOKEN=None, CLOCK=time.monotonic, NOW=lambda: datetime.now(UTC),
        CERT_CN=certificate_cn, MAX_CONTENT_LENGTH=MAX_BODY, JSON_SORT_KEYS=False,
    )
    app.config.update(config)
    app.config.setdefault("LIMITER", FailureLimiter())
    app.config["LIMITER_LOCK"] = threading.Lock()
    app.register_blueprint(api)

    @app.errorhandler(HTTPException)
    def http_error(exception: HTTPException):
        reasons = {404: "no such endpoint: the API is /api/v1/cps/<cp_id>",
                   405: "method not allowed on this endpoint",
                   413: f"body too large (limit {MAX_BODY} bytes)"}
        return error(exception.code or 500, reasons.get(exception.code, exception.name))

    @app.errorhandler(Exception)
    def unexpected(exception: Exception):
        log.error("request failed: %s", type(exception).__name__, exc_info=exception)
        return error(500, "the registry could not do that; see its log")

    return app
