"""The sessions page (``/sessions``) and its CSV export (``/sessions.csv``).

Both take the filters of ``GET /api/sessions`` (``cp_id``, ``driver_id``, ``day``: a
UTC date) through :mod:`cloud.central.session_report` and the same store query.  The
page shows ``PAGE_SIZE`` sessions at a time (``page=``), and totals of the whole
filtered set; the CSV file holds every session of the set.  A bad filter is a 400 with
a one-line reason: on the page itself, or as plain text for the CSV.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, url_for

from cloud.central import session_report as report

bp = Blueprint("sessions", __name__)

MAX_PAGE = 1_000_000


@bp.get("/sessions")
def page():
    fleet = current_app.config["FLEET"]
    try:
        where = report.parse_filter(request.args)
        number = report.parse_count("page", request.args.get("page"), 1, 1, MAX_PAGE)
    except report.BadFilter as error:
        html = render_template("sessions.html", error=str(error), **_choices(fleet, None))
        return html, 400
    totals = fleet.session_totals(**where.store_args())
    offset = (number - 1) * report.PAGE_SIZE
    rows = [(session["id"], report.row(session)) for session in fleet.sessions(
        **where.store_args(), limit=report.PAGE_SIZE, offset=offset)]
    pages = max(1, -(-totals.count // report.PAGE_SIZE))
    return render_template(
        "sessions.html", error=None, where=where, rows=rows, totals=totals,
        first=offset + 1 if rows else 0, last=offset + len(rows), page=number, pages=pages,
        link=lambda **extra: url_for("sessions.page", **where.query(), **extra),
        csv_url=url_for("sessions.export", **where.query()), **_choices(fleet, where),
    )


def _choices(fleet, where: report.SessionFilter | None) -> dict:
    """What the filter form offers: every CP, every driver, and the current filter."""
    return {"columns": report.COLUMNS, "cp_ids": [cp["id"] for cp in fleet.cps()],
            "driver_ids": [d["id"] for d in fleet.drivers()],
            "form": request.args if where is None else where.query()}


@bp.get("/sessions.csv")
def export():
    try:
        where = report.parse_filter(request.args)
    except report.BadFilter as error:
        return Response(f"{error}\n", status=400, content_type="text/plain; charset=utf-8")
    sessions = current_app.config["FLEET"].sessions(**where.store_args(), limit=None)
    return Response(
        report.csv_lines(sessions),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report.csv_filename(where)}"'},
    )
