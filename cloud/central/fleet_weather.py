"""The fleet's shell for the weather office: alerts raised and cleared through the API
(the decisions are :class:`~cloud.central.core_weather.WeatherCore`'s), and the office's
last report (its status and each location's reading), which the dashboard shows.

The report is kept in memory only: the office sends a new one every round.
"""

from __future__ import annotations

from typing import Any

from cloud.central.alerts import Alert, Reading, place


class WeatherDesk:
    """Mixed into Fleet; uses its ``_lock``, ``_core``, ``_run``, ``_now``, ``_hub`` and
    ``wallclock``."""

    _weather: dict[str, Any] | None = None

    def alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._core.alert_views()

    def raise_alert(self, location: str, reading: Reading, actor: str) -> tuple[Alert, bool]:
        """Raise the alert for ``location`` (or update its reading): the alert, and True
        if it is new.  The CPs there go out of service once their supplies end."""
        with self._lock:
            alert, new, effects = self._core.raise_alert(location, reading, actor, self._now())
            self._run(effects)
            return alert, new

    def clear_alert(self, location: str, actor: str) -> Alert | None:
        """Clear the alert for ``location``; None if there was none."""
        with self._lock:
            alert, effects = self._core.clear_alert(location, actor, self._now())
            self._run(effects)
            return alert

    def weather(self) -> dict[str, Any] | None:
        """The office's last report (``received_at`` added), or None before any."""
        with self._lock:
            return self._weather

    def set_weather(self, report: dict[str, Any]) -> None:
        with self._lock:
            before, self._weather = self._weather, report
            self._weather_problems(before, report)  # audited: the Errors panel's
            self._hub.publish("weather", report)

    def temperatures(self) -> dict[str, dict[str, Any]]:
        """Each reported location's reading, by :func:`~cloud.central.alerts.place`."""
        with self._lock:
            report = self._weather or {}
            return {place(item["location"]): item for item in report.get("locations", ())}
