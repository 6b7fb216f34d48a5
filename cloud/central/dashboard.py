"""Operator dashboard: one page (``/``) kept live by server-sent events (``/events``).

``/events`` subscribes to the Fleet *before* taking the snapshot, so no change falls
between the two: the first event is ``snapshot`` ({cps, summary, requests, messages,
kafka, power, alerts, weather}: ``cps`` is the first page of tiles, ``DASHBOARD_PAGE``
CPs by id, and ``summary`` counts them all, so 10,000 CPs are one page, not 10,000
tiles; the page's script fetches other pages, filtered, from ``/api/cps``), then
every Fleet event ({"event": "cp"|"message"|"requests"|
"kafka"|"power"|"alerts"|"weather", "data": ...}) as it happens (``kafka`` is ``{up,
address, text}``: the degraded banner's text; ``power`` one sample ``{t, kw}`` of the
fleet's total kW, every few seconds; ``alerts`` the weather alerts raised; ``weather`` the
weather office's last report, with ``received_at``), with a
``: keepalive`` comment whenever the stream has been quiet for ``SSE_KEEPALIVE`` seconds.
A client that goes away makes the next write fail; the WSGI server then closes the
generator and the ``finally`` clause unsubscribes it.  Beyond ``SSE_MAX_CLIENTS`` open
streams, ``/events`` answers 503 and the page's script retries a little later.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, render_template

from cloud.central import cpstate
from protocol.messages import AD_HOC, driver_or_ad_hoc

bp = Blueprint("dashboard", __name__)

# What each state is called on a tile: the precedence table's labels.
STATE_LABELS = cpstate.LABELS
# Why a CP is stopped, in the tile's words ("Out of order: stopped by admin").
REASON_TEXT = {str(reason): text for reason, text in cpstate.REASON_TEXT.items()}
RECONNECT_MS = 2000
PAGE_SIZE = 48  # tiles on one page of the dashboard (DASHBOARD_PAGE)


def _page_size(app) -> int:
    return int(app.config.get("DASHBOARD_PAGE") or PAGE_SIZE)


@bp.get("/")
def index():
    fleet = current_app.config["FLEET"]
    return render_template(
        "dashboard.html",
        cps=fleet.cps(0, _page_size(current_app)),
        summary=fleet.summary(),
        page_size=_page_size(current_app),
        requests=fleet.requests(),
        messages=fleet.messages(limit=50),
        kafka=fleet.kafka(),
        labels=STATE_LABELS,
        reasons=REASON_TEXT,
    )


@bp.app_template_filter("why")
def why(reasons: list[str] | None) -> str:
    """A CP's stop reasons in words: ``stopped by admin, weather alert``."""
    return ", ".join(REASON_TEXT.get(reason, reason) for reason in reasons or ())


@bp.app_template_filter("clock")
def clock(value: str | None) -> str:
    """``2026-01-02T14:03:22.123Z`` -> ``14:03:22`` (UTC, as the page's script shows it)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.utcoffset() is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%H:%M:%S")


@bp.app_template_filter("driver")
def driver(driver_id: str | None) -> str:
    """The driver of a supply or request; one started at the CP without an id is ad hoc."""
    return driver_or_ad_hoc(driver_id)


@bp.app_template_global("ad_hoc")
def ad_hoc() -> str:
    return AD_HOC


@bp.app_template_filter("dash")
def dash(value: object) -> object:
    """Show a missing value as an em dash."""
    return "—" if value is None or value == "" else value


class StreamLimit:
    """At most ``limit`` event streams at once (each holds a thread and a queue)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open -= 1


@bp.record_once
def _setup(state) -> None:
    state.app.config.setdefault("SSE_MAX_CLIENTS", 100)
    state.app.extensions["sse_streams"] = StreamLimit(int(state.app.config["SSE_MAX_CLIENTS"]))


@bp.get("/events")
def events():
    app = current_app._get_current_object()
    streams: StreamLimit = app.extensions["sse_streams"]
    if not streams.acquire():
        abort(503, description="too many live dashboards open; retry later")
    stream = event_stream(app.config["FLEET"], app.json.dumps, float(app.config["SSE_KEEPALIVE"]),
                          _page_size(app))
    response = Response(
        stream,
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    response.call_on_close(streams.release)  # the server closes every response it sent
    return response


def event_stream(fleet, dumps: Callable[[object], str], keepalive: float,
                 page_size: int = PAGE_SIZE) -> Iterator[str]:
    """Snapshot first, then Fleet events, keepalives in between; unsubscribe on close."""
    subscription = fleet.subscribe()
    try:
        snapshot = {
            "cps": fleet.cps(0, page_size),
            "summary": fleet.summary(),
            "requests": fleet.requests(),
            "messages": fleet.messages(limit=50),
            "kafka": fleet.kafka(),
            "power": fleet.power(),
            "alerts": fleet.alerts(),
            "weather": fleet.weather(),
        }
        yield f"retry: {RECONNECT_MS}\n" + sse("snapshot", snapshot, dumps)
        while True:
            try:
                item = subscription.get(timeout=keepalive)
            except queue.Empty:
                yield ": keepalive\n\n"
                continue
            yield sse(item["event"], item["data"], dumps)
    finally:
        fleet.unsubscribe(subscription)


def sse(event: str, data: object, dumps: Callable[[object], str]) -> str:
    """One server-sent event; JSON has no raw newlines, so one ``data:`` line."""
    return f"event: {event}\ndata: {dumps(data)}\n\n"
