"""REST API (JSON) under ``/api``: reads are open, admin actions need the bearer token.

Every admin action names its actor (``admin@<client address>``) to the Fleet, whose
audit trail records it.  Domain errors (an unknown CP, ...) become their HTTP status in
the app's one handler (:func:`cloud.central.app.domain_error`).
"""

from __future__ import annotations

import functools
import hmac

from flask import Blueprint, abort, current_app, jsonify, request

from cloud.central import audit, network_errors
from cloud.central.errors import UnknownCp
from cloud.central.session_report import (
    MAX_LIMIT,
    BadFilter,
    SessionFilter,
    parse_count,
    parse_filter,
)
from cloud.central.store import STATUSES
from protocol.states import CpState

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_MESSAGES = 500
MAX_PAGE = 10**6  # rows in one page of a list held in memory (CPs, drivers, ...)
MAX_QUERY = 100  # characters of a CP filter's text
CP_STATES = tuple(str(state) for state in CpState)


def _fleet():
    return current_app.config["FLEET"]


def admin_required(view):
    """Check ``Authorization: Bearer <token>`` in constant time; pass ``actor=`` on."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expected = current_app.config["ADMIN_TOKEN"].encode()
        peer = request.remote_addr or "unknown"
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            reason = "admin bearer token missing or wrong"
            _fleet().on_admin_refused(peer, f"{request.method} {request.path}", reason)
            abort(401, description=reason)
        return view(*args, actor=f"admin@{peer}", **kwargs)

    return wrapped


@bp.get("/cps")
def list_cps():
    """CPs by id; only the page asked for is copied (10,000 CPs are a few MB of JSON).
    ``q``: only CPs with this text in their id or location; ``state``: only CPs in it.
    ``X-Total-Count`` counts the CPs the filter selects."""
    limit, offset = _page()
    text = request.args.get("q", "").strip()
    if len(text) > MAX_QUERY:
        abort(400, description=f"q must be at most {MAX_QUERY} characters")
    state = request.args.get("state") or None
    if state is not None and state not in CP_STATES:
        abort(400, description=f"state must be one of: {', '.join(CP_STATES)}")
    rows, total = _fleet().cp_page(offset, limit, text, state)
    response = jsonify(rows)
    response.headers["X-Total-Count"] = str(total)
    return response


@bp.get("/summary")
def summary():
    """How many CPs there are, and how many in each state."""
    return jsonify(_fleet().summary())


@bp.get("/errors")
def errors():
    """Errors from every part of the network: ``ongoing`` (what is wrong now) and
    ``errors`` (the audit trail's refusals, failures and breakdowns, newest first, since
    ``since``, ``limit`` (1 to 1000, default 50) from ``offset``); ``X-Total-Count``
    counts the errors recorded since ``since``.  Open: no address, no parameter but
    the reason."""
    since = request.args.get("since") or None
    try:
        since = audit.parse_since(since) if since is not None else None
    except ValueError as error:
        abort(400, description=str(error))
    body, total = _fleet().errors(since, _count("limit", 50, 1, network_errors.MAX_LIMIT),
                                  _count("offset", 0, 0, 10**9))
    response = jsonify(body)
    response.headers["X-Total-Count"] = str(total)
    return response


def paged(rows: list):
    """One page of a whole list: ``limit`` (1 to 10**6, default all) rows from
    ``offset``; ``X-Total-Count`` counts the whole list."""
    limit, offset = _page()
    response = jsonify(rows[offset:offset + limit])
    response.headers["X-Total-Count"] = str(len(rows))
    return response


def _page() -> tuple[int, int]:
    return _count("limit", MAX_PAGE, 1, MAX_PAGE), _count("offset", 0, 0, 10**9)


@bp.get("/cps/<cp_id>")
def get_cp(cp_id: str):
    cp = _fleet().cp(cp_id)
    if cp is None:
        raise UnknownCp(cp_id)
    return jsonify(cp)


@bp.post("/cps/<cp_id>/stop")
@admin_required
def stop_cp(cp_id: str, actor: str):
    return jsonify(_fleet().stop(cp_id, actor=actor))


@bp.post("/cps/<cp_id>/resume")
@admin_required
def resume_cp(cp_id: str, actor: str):
    return jsonify(_fleet().resume(cp_id, actor=actor))


@bp.delete("/cps/<cp_id>/key")
@admin_required
def revoke_key(cp_id: str, actor: str):
    """Restore keys: the CP's keys are deleted, the supply under way ends, the CP is out
    of service ("key revoked") until its monitor re-authenticates.  Returns its view."""
    return jsonify(_fleet().revoke_key(cp_id, actor=actor))


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
    """Sessions newest first, filtered by ``cp_id``, ``driver_id`` and ``day`` (UTC
    ``YYYY-MM-DD``), ``limit`` (1 to 1000, default 1000) from ``offset``; the
    ``X-Total-Count`` header counts the whole filtered set.  ``status=supplying``: the
    supplies under way (any session status may be asked for)."""
    where = {**_filter().store_args(), "status": _status()}
    limit = _count("limit", MAX_LIMIT, 1, MAX_LIMIT)
    offset = _count("offset", 0, 0, 10**9)
    fleet = _fleet()
    response = jsonify(fleet.sessions(**where, limit=limit, offset=offset))
    response.headers["X-Total-Count"] = str(fleet.store.session_count(**where))
    return response


@bp.get("/sessions/totals")
def session_totals():
    """``{count, kwh, eur}`` of every session the same filter selects, summed exactly."""
    where = {**_filter().store_args(), "status": _status()}
    return jsonify(_fleet().session_totals(**where).as_json())


def _status() -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        abort(400, description=f"status must be one of: {', '.join(STATUSES)}")
    return status


def _filter() -> SessionFilter:
    try:
        return parse_filter(request.args)
    except BadFilter as error:
        abort(400, description=str(error))


def _count(name: str, default: int, low: int, high: int) -> int:
    try:
        return parse_count(name, request.args.get(name), default, low, high)
    except BadFilter as error:
        abort(400, description=str(error))


@bp.get("/audit")
@admin_required
def audit_trail(actor: str):
    """The audit trail newest first (admin only), filtered by ``cp_id``, ``action`` and
    ``since`` (an ISO-8601 date or time), ``limit`` (1 to 1000, default 100) from
    ``offset``; the ``X-Total-Count`` header counts the whole filtered set."""
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        abort(400, description=f"action must be one of: {', '.join(audit.ACTIONS)}")
    since = request.args.get("since") or None
    try:
        since = audit.parse_since(since) if since is not None else None
    except ValueError as error:
        abort(400, description=str(error))
    where = audit.Query(request.args.get("cp_id") or None, action, since)
    rows, total = _fleet().store.audit_page(where, _count("limit", 100, 1, audit.MAX_LIMIT),
                                            _count("offset", 0, 0, 10**9))
    response = jsonify(rows)
    response.headers["X-Total-Count"] = str(total)
    return response


@bp.get("/power")
def power():
    """The fleet's total kW over the last hour, one point every few seconds."""
    return jsonify(_fleet().power())


@bp.get("/drivers")
def drivers():
    """Drivers by id, each with its supply under way (``session``: where) and its last
    ticket (``last_ticket``); ``limit`` and ``offset`` as every list."""
    limit, offset = _page()
    rows, total = _fleet().driver_board(offset, limit)
    response = jsonify(rows)
    response.headers["X-Total-Count"] = str(total)
    return response


@bp.get("/requests")
def requests_under_way():
    return paged(_fleet().requests())


@bp.get("/messages")
def messages():
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_MESSAGES:
        abort(400, description=f"limit must be an integer from 1 to {MAX_MESSAGES}")
    return jsonify(_fleet().messages(limit=int(raw)))
