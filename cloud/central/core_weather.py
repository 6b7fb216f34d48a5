"""The fleet's pure core, its weather half: alerts raised and cleared by the weather
office, and what they do to the CPs at their location.  Facts in, effects out, time
passed in (:class:`~cloud.central.core_keys.KeysCore` and the CP table below it).

An alert puts every CP at its location out of service with the stop reason ``weather``
(a supply under way finishes first: see :meth:`TableCore.stop`); clearing it lifts
``weather`` alone, so an administrator's stop stays, and vice versa.  A CP registered
at, or moved to, a location under alert gets the reason too; one moved from a location
under alert to one without loses it.  Which alert applies to which CP is
:func:`~cloud.central.alerts.matches` (a country code in the alert's location narrows
it); a CP under two alerts (``Paris`` and ``Paris,FR``) is back when both are cleared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cloud.central import effects as fx
from cloud.central.alerts import Alert, Reading, alert_key, matches
from cloud.central.core_keys import KeysCore
from cloud.central.core_table import Effects
from cloud.central.cpstate import StopReason
from cloud.central.cptable import Moment
from cloud.central.events import WeatherAlertCleared, WeatherAlertRaised
from protocol import messages as m

WEATHER = StopReason.WEATHER


class WeatherCore(KeysCore):
    def __init__(self, new_id: Callable[[], str] = m.new_id) -> None:
        super().__init__(new_id)
        self.alerts: dict[str, Alert] = {}  # by alert_key()

    # -- views -----------------------------------------------------------------------
    def alert_views(self) -> list[dict[str, Any]]:
        return [alert.as_json() for _, alert in sorted(self.alerts.items())]

    def alert_at(self, location: str) -> Alert | None:
        """The alert that applies to a CP at ``location`` (the first by key), or None."""
        return next((alert for _, alert in sorted(self.alerts.items())
                     if matches(alert.location, location)), None)

    def load_alerts(self, alerts: Iterable[Alert]) -> None:
        """The alerts the store kept (at start, before the CPs are registered)."""
        for alert in alerts:
            self.alerts[alert_key(alert.location)] = alert

    # -- the weather office's calls ----------------------------------------------------
    def raise_alert(self, location: str, reading: Reading, actor: str,
                    now: Moment) -> tuple[Alert, bool, Effects]:
        """Raise (or update the reading of) the alert for ``location``: the alert, True
        if it is new, and the effects."""
        key = alert_key(location)
        before = self.alerts.get(key)
        alert = Alert(before.location if before else location, reading.temperature_c,
                      reading.threshold_c, reading.observed_at,
                      before.raised_at if before else now.wall, actor)
        self.alerts[key] = alert
        effects: Effects = [fx.SaveAlert(alert)]
        if before is None:
            cp_ids = self._at(alert.location)
            for cp_id in cp_ids:
                if WEATHER not in self.cps[cp_id].stop_reasons:
                    effects += self.stop(cp_id, WEATHER, actor, now)
            effects.insert(1, fx.Announce(WeatherAlertRaised(
                alert.location, alert.temperature_c, alert.threshold_c, actor, cp_ids)))
        return alert, before is None, effects + [self._alerts_changed()]

    def clear_alert(self, location: str, actor: str,
                    now: Moment) -> tuple[Alert | None, Effects]:
        """Clear the alert for ``location`` (None, no effects, if there is none): its
        CPs lose the ``weather`` reason, and no other."""
        alert = self.alerts.pop(alert_key(location), None)
        if alert is None:
            return None, []
        cp_ids = self._at(alert.location)
        effects: Effects = [fx.DropAlert(alert.location),
                            fx.Announce(WeatherAlertCleared(alert.location, actor, cp_ids))]
        for cp_id in cp_ids:
            still = self.alert_at(self.cps[cp_id].location)  # another alert there
            if WEATHER in self.cps[cp_id].stop_reasons and still is None:
                effects += self.lift(cp_id, WEATHER, actor, now)
        return alert, effects + [self._alerts_changed()]

    # -- CPs arriving at or leaving a location ----------------------------------------
    def register(self, cp_id: str, location: str, price: str,
                 stop_reasons: frozenset[StopReason], now: Moment,
                 credentials: dict[str, Any] | None = None) -> Effects:
        effects = super().register(cp_id, location, price, stop_reasons, now, credentials)
        return effects + (self._follow_alert(cp_id, None, now) if effects else [])

    def connected(self, cp_id: str, location: str | None, price: str, now: Moment,
                  heartbeats: bool = True) -> Effects:
        cp = self.cps.get(cp_id)
        before = cp.location if cp is not None else None
        effects = super().connected(cp_id, location, price, now, heartbeats)
        if cp is None:
            return effects
        return effects + self._follow_alert(cp_id, before, now)

    def _follow_alert(self, cp_id: str, moved_from: str | None, now: Moment) -> Effects:
        """A CP at a location under alert gets ``weather``; one moved away from a
        location under alert to one without loses it."""
        cp = self.cps[cp_id]
        alert = self.alert_at(cp.location)
        if alert is not None and WEATHER not in cp.stop_reasons:
            return self.stop(cp_id, WEATHER, alert.raised_by, now)
        if (alert is None and WEATHER in cp.stop_reasons and moved_from is not None
                and self.alert_at(moved_from) is not None):
            return self.lift(cp_id, WEATHER, "central", now)
        return []

    def _at(self, location: str) -> tuple[str, ...]:
        """The CPs an alert for ``location`` applies to."""
        return tuple(sorted(cp.id for cp in self.cps.values()
                            if matches(location, cp.location)))

    def _alerts_changed(self) -> fx.Publish:
        return fx.Publish("alerts", self.alert_views())
