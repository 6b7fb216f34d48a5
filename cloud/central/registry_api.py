"""The registry's side of the REST API (JSON, under ``/api``), for administrators.

    PUT    /api/cps/<id>       {"location"?, "price_eur_kwh"?} -> 200 the CP's view
    DELETE /api/cps/<id>       -> 200 {"cp_id", "deregistered": true}: its link dropped,
                               its row and keys gone, its sessions kept
    GET    /api/drivers/<id>   -> 200 the driver (open, like GET /api/drivers)
    PUT    /api/drivers/<id>   -> 201 registered, 200 when it was registered already
    DELETE /api/drivers/<id>   -> 200 {"driver_id", "deregistered": true}

PUT and DELETE need the admin bearer token and are audited; an unknown id is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from cloud.central.api import admin_required

bp = Blueprint("registry_api", __name__, url_prefix="/api")

CP_FIELDS = ("location", "price_eur_kwh")


def _fleet():
    return current_app.config["FLEET"]


@bp.put("/cps/<cp_id>")
@admin_required
def change_cp(cp_id: str, actor: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="the body must be a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - set(CP_FIELDS))
    if unknown:
        abort(400, description=f"unknown field {unknown[0][:70]!r}: expected "
                               f"{' and/or '.join(CP_FIELDS)}")
    if not any(body.get(name) is not None for name in CP_FIELDS):
        abort(400, description=f"nothing to change: give {' and/or '.join(CP_FIELDS)}")
    return jsonify(_fleet().change_cp(cp_id, actor, body.get("location"),
                                      body.get("price_eur_kwh")))


@bp.delete("/cps/<cp_id>")
@admin_required
def deregister_cp(cp_id: str, actor: str):
    return jsonify(_fleet().deregister_cp(cp_id, actor))


@bp.get("/drivers/<driver_id>")
def get_driver(driver_id: str):
    return jsonify(_fleet().driver(driver_id))


@bp.put("/drivers/<driver_id>")
@admin_required
def put_driver(driver_id: str, actor: str):
    driver, new = _fleet().put_driver(driver_id, actor)
    return jsonify(driver), 201 if new else 200


@bp.delete("/drivers/<driver_id>")
@admin_required
def remove_driver(driver_id: str, actor: str):
    return jsonify(_fleet().remove_driver(driver_id, actor))
