"""What the driver is shown, as text: progress, ticket blocks, tables, the menu and the
live status line.  Pure; :mod:`driver_app.screen` puts it on the terminal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from protocol.messages import parse_ts
from protocol.states import DriverPhase, SessionStatus

from .plan import Summary

if TYPE_CHECKING:
    from .following import Following

MENU = """\
  1) list available CPs        2 [CP]) request a supply at a CP
  3) stop my supply            4) show current status
  5) history                   q) quit"""


def number(value: object, places: int) -> str:
    if value is None:
        return "-"
    try:
        return f"{Decimal(str(value)):.{places}f}"
    except (InvalidOperation, ValueError):
        return str(value)


def progress_text(cp_id: str, kw: object, kwh: object, eur: object) -> str:
    return f"{cp_id}  {number(kw, 2)} kW  {number(kwh, 3)} kWh  {number(eur, 2)} EUR"


def status_line(following: Following | None) -> str:
    """The live status line for the supply followed ("" for none)."""
    f = following
    if f is None:
        return ""
    if f.phase == DriverPhase.SUPPLYING:
        return progress_text(f.cp_id, f.kw, f.kwh, f.eur)
    if f.phase == DriverPhase.AUTHORIZED:
        return f"{f.cp_id}  authorized: plug in"
    if f.phase == DriverPhase.REQUESTED:
        return f"{f.cp_id}  requested, waiting for Central"
    return f"{f.cp_id}  {f.phase}, waiting for the CP"


def when(value: object) -> str:
    try:
        return parse_ts(str(value)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(value or "-")


def duration(start: object, end: object) -> str:
    try:
        seconds = int((parse_ts(str(end)) - parse_ts(str(start))).total_seconds())
    except ValueError:
        return "-"
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def ticket_lines(ticket: dict[str, Any], late: bool = False) -> list[str]:
    title = f"==== TICKET  {ticket.get('cp_id', '?')} "
    lines = [title + "=" * max(4, 44 - len(title))]
    if late:
        lines.append("  (this supply ended while the app was away)")
    if ticket.get("interrupted"):
        lines.append(f"  INTERRUPTED: {ticket.get('reason', '')}")
    lines += [
        f"  session   {ticket.get('session_id', '-')}",
        f"  start     {when(ticket.get('started_at'))}",
        f"  end       {when(ticket.get('ended_at'))}",
        f"  duration  {duration(ticket.get('started_at'), ticket.get('ended_at'))}",
        f"  energy    {number(ticket.get('kwh', 0), 3)} kWh",
        f"  price     {number(ticket.get('price_eur_kwh', 0), 2)} EUR/kWh",
        f"  total     {number(ticket.get('eur', 0), 2)} EUR",
        f"  reason    {ticket.get('reason', '-')}",
        "=" * 44,
    ]
    return lines


def cp_table(cps: list[Any]) -> list[str]:
    rows = [c for c in cps if isinstance(c, dict)]
    if not rows:
        return ["no CP is available"]
    lines = [f"  {'CP':<12} {'location':<24} {'EUR/kWh':>8}  state"]
    for cp in rows:
        lines.append(f"  {str(cp.get('id', '?')):<12} {str(cp.get('location', '')):<24} "
                     f"{number(cp.get('price_eur_kwh', '-'), 2):>8}  {cp.get('state', '')}")
    return lines


def history_lines(recent: list[Any]) -> list[str]:
    rows = sorted((t for t in recent if isinstance(t, dict)),
                  key=lambda t: str(t.get("ended_at", "")), reverse=True)
    if not rows:
        return ["no supplies yet"]
    lines = []
    for t in rows:
        mark = f"  INTERRUPTED: {t.get('reason', '')}" if t.get("interrupted") else \
            f"  ({t.get('reason', '')})"
        lines.append(f"  {when(t.get('ended_at'))}  {str(t.get('cp_id', '?')):<12} "
                     f"{number(t.get('kwh', 0), 3):>8} kWh {number(t.get('eur', 0), 2):>8} EUR"
                     + mark)
    return lines


def status_lines(current: dict[str, Any] | None, recent: list[Any]) -> list[str]:
    if current:
        state = str(current.get("status") or current.get("state")
                    or SessionStatus.SUPPLYING).lower()
        lines = [f"under way ({state}): " + progress_text(
            str(current.get("cp_id", "?")), current.get("kw", 0), current.get("kwh", 0),
            current.get("eur", 0))]
    else:
        lines = ["no supply under way"]
    if recent:
        lines += ["recent supplies:", *history_lines(recent)[:5]]
    return lines


def summary_lines(s: Summary) -> list[str]:
    return ["==== SUMMARY " + "=" * 31,
            f"  supplies  {s.supplies} ({s.completed} completed, {s.failed} not)",
            f"  energy    {s.kwh:.3f} kWh",
            f"  total     {s.eur:.2f} EUR",
            "=" * 44]
