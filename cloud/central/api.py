"""REST API (JSON) under ``/api``: reads are open, admin actions need the bearer token.

Every admin action names its actor (``admin@<client address>``) to the Fleet, which
writes it into the audit log.
"""

from __future__ import annotations

import functools
import hmac

from flask import Blueprint, abort, current_app, jsonify, request

from protocol.messages import CP_ID, DRIVER_ID

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_MESSAGES = 500


def _fleet():
    return current_app.config["FLEET"]


def admin_required(view):
    """Check ``Authorization: Bearer <token>`` in constant time; pass ``actor=`` on."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expected = current_app.config["ADMIN_TOKEN"].encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            abort(401, description="admin bearer token missing or wrong")
        return view(*args, actor=f"admin@{request.remote_addr or 'unknown'}", **kwargs)

    return wrapped


@bp.get("/cps")
def list_cps():
    return jsonify(_fleet().cps())


@bp.get("/cps/<cp_id>")
def get_cp(cp_id: str):
    cp = _fleet().cp(cp_id) if CP_ID.match(cp_id) else None
    if cp is None:
        abort(404, description=f"unknown charging point {cp_id!r}")
    return jsonify(cp)


@bp.post("/cps/<cp_id>/stop")
@admin_required
def stop_cp(cp_id: str, actor: str):
    return _one(_fleet().stop, cp_id, actor)


@bp.post("/cps/<cp_id>/resume")
@admin_required
def resume_cp(cp_id: str, actor: str):
    return _one(_fleet().resume, cp_id, actor)


def _one(action, cp_id: str, actor: str):
    if not CP_ID.match(cp_id):
        abort(404, description=f"unknown charging point {cp_id!r}")
    try:
        return jsonify(action(cp_id, actor=actor))
    except KeyError:
        abort(404, description=f"unknown charging point {cp_id!r}")


@bp.post("/cps/stop")
@admin_required
def stop_all(actor: str):
    return jsonify(_fleet().stop_all(actor=actor))


@bp.post("/cps/resume")
@admin_required
def resume_all(actor: str):
    return jsonify(_fleet().resume_all(actor=actor))


@bp.get("/sessions")
def sessions():
    cp_id = _id_arg("cp_id", CP_ID)
    driver_id = _id_arg("driver_id", DRIVER_ID)
    return jsonify(_fleet().sessions(cp_id=cp_id, driver_id=driver_id))


def _id_arg(name: str, pattern) -> str | None:
    value = request.args.get(name) or None
    if value is not None and not pattern.match(value):
        abort(400, description=f"bad {name} {value[:70]!r}")
    return value


@bp.get("/drivers")
def drivers():
    return jsonify(_fleet().drivers())


@bp.get("/requests")
def requests_under_way():
    return jsonify(_fleet().requests())


@bp.get("/messages")
def messages():
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_MESSAGES:
        abort(400, description=f"limit must be an integer from 1 to {MAX_MESSAGES}")
    return jsonify(_fleet().messages(limit=int(raw)))
