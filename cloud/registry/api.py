"""The registry's REST API (one blueprint), ``/api/v1/cps/<cp_id>``:

- ``PUT`` ``{"location", "price_eur_kwh"}``: 201 ``{"cp_id", "secret"}`` for a new CP
  (the secret is shown this once and never again), 200 and its registration state for
  a registered one (updated; no secret);
- ``GET``: its registration state (registered since, last authentication, whether it
  holds a key, the key's id and age; never a secret or a key);
- ``DELETE``: deregistered (it can no longer authenticate; Central drops its link);
- ``POST .../credentials``: a new secret (200 ``{"cp_id", "secret"}``, shown once).

Every request first passes :func:`admit`: the caller's address must not be waiting
(429 with ``Retry-After``), and its credentials must allow it to act on that CP (401,
403; each refusal counts against the address).  Errors are JSON ``{"error": reason}``.
Registrations, deregistrations, rotations, refusals and refused input are audited.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from cloud.central.errors import CpIdTaken, DomainError
from cloud.registry import trail
from cloud.registry.access import Refusal, decide
from cloud.registry.body import BadBody, check_cp_id, parse_registration

api = Blueprint("registry", __name__, url_prefix="/api/v1/cps")
OPERATIONS = {"PUT": "register", "GET": "read", "DELETE": "deregister",
              "POST": "rotate credentials"}


def error(status: int, reason: str, **headers: str):
    response = jsonify(error=reason)
    response.status_code = status
    response.headers.update(headers)
    return response


def _audit(action: str, cp_id: str | None, outcome: str, **params) -> None:
    caller = g.get("caller")
    actor = caller.actor if caller else params.pop("actor", "registry")
    if caller:
        params = {**caller.params, **params}
    trail.record(current_app.config["STORE"], action, actor, request.remote_addr or "",
                 cp_id, params, outcome)


@api.before_request
def admit():
    """Rate limit, CP id, credentials: None lets the request through."""
    config = current_app.config
    source = request.remote_addr or ""
    limiter, clock = config["LIMITER"], config["CLOCK"]
    with config["LIMITER_LOCK"]:
        wait = limiter.retry_after(source, clock())
    if wait is not None:
        return error(429, f"too many failed attempts from {source}: retry in {wait} s",
                     **{"Retry-After": str(wait)})
    cp_id = (request.view_args or {}).get("cp_id", "")
    try:
        check_cp_id(cp_id)
    except BadBody as bad:
        return error(bad.status, str(bad))
    verdict = decide(request.headers.get("Authorization"), config["CERT_CN"](request.environ),
                     cp_id, config["ENROLL_TOKEN"])
    if isinstance(verdict, Refusal):
        with config["LIMITER_LOCK"]:
            limiter.failed(source, clock())
        _audit("auth failed", cp_id, "refused", actor=verdict.actor,
               credential=verdict.credential, operation=OPERATIONS.get(request.method, ""),
               reason=verdict.reason)
        headers = {"WWW-Authenticate": 'Bearer realm="ev-registry"'} if verdict.status == 401 \
            else {}
        return error(verdict.status, verdict.reason, **headers)
    g.caller = verdict
    return None


@api.after_request
def never_cached(response):
    response.headers["Cache-Control"] = "no-store"  # a secret is shown once
    return response


def _store():
    return current_app.config["STORE"]


def _state(cp_id: str):
    return _store().registration(cp_id, current_app.config["NOW"]())


def _not_registered(cp_id: str):
    return error(404, f"CP {cp_id} is not registered")


@api.put("/<cp_id>")
def register(cp_id: str):
    try:
        registration = parse_registration(request.get_data(cache=False), cp_id)
    except BadBody as bad:
        _audit("refused input", cp_id, "refused", operation="register", reason=str(bad))
        return error(bad.status, str(bad))
    store = _store()
    fields = {"location": registration.location,
              "price_eur_kwh": str(registration.price_eur_kwh)}
    try:
        secret = store.add_cp(cp_id, registration.location, registration.price_eur_kwh)
    except CpIdTaken:
        secret = None
    except DomainError as bad:
        _audit("refused input", cp_id, "refused", operation="register", reason=str(bad))
        return error(bad.status, str(bad))
    if secret is not None:
        _audit("registered", cp_id, "ok", new=True, **fields)
        response = jsonify(cp_id=cp_id, secret=secret)
        response.status_code = 201
        return response
    if not store.update_cp(cp_id, registration.location, registration.price_eur_kwh):
        return error(409, f"CP {cp_id} was deregistered meanwhile: try again")
    _audit("registered", cp_id, "ok", new=False, **fields)
    return jsonify(_state(cp_id))


@api.get("/<cp_id>")
def registration_state(cp_id: str):
    state = _state(cp_id)
    return jsonify(state) if state is not None else _not_registered(cp_id)


@api.delete("/<cp_id>")
def deregister(cp_id: str):
    if not _store().remove_cp(cp_id):
        _audit("deregistered", cp_id, "refused", reason="not registered")
        return _not_registered(cp_id)
    _audit("deregistered", cp_id, "ok")
    return jsonify(cp_id=cp_id, deregistered=True)


@api.post("/<cp_id>/credentials")
def rotate(cp_id: str):
    secret = _store().new_secret(cp_id)
    if secret is None:
        _audit("credentials rotated", cp_id, "refused", reason="not registered")
        return _not_registered(cp_id)
    _audit("credentials rotated", cp_id, "ok")
    return jsonify(cp_id=cp_id, secret=secret)


def untrusted_certificate(app, source: str, reason: str) -> None:
    """A client certificate the site CA did not sign failed the TLS handshake (there was
    no request to answer): audited and counted against the address like a wrong token."""
    config = app.config
    with config["LIMITER_LOCK"]:
        config["LIMITER"].failed(source, config["CLOCK"]())
    trail.record(config["STORE"], "auth failed", "cp", source, None,
                 {"credential": "client certificate",
                  "reason": f"client certificate not trusted: {reason[:200]}"}, "refused")
