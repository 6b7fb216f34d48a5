"""The fleet's pure core, its weather half: alerts raised and cleared by the weather
office, and what they do to the CPs at their location.  Facts in, effects out, time
passed in (:class:`~cloud.central.core_keys.KeysCore` and the CP table below it).

An alert puts every CP at its location out of service with the stop reason ``weather``
(a supply under way finishes first: see :meth:`TableCore.stop`); clearing it lifts
``weather`` alone, so an administrator's stop stays, and vice versa.  A CP registered
at, or moved to, a location under alert gets the reason too; one moved from a location
under alert to one without loses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cloud.central import effects as fx
from cloud.central.alerts import Alert, Reading, place
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
        self.alerts: dict[str, Alert] = {}  # by place()

    # -- views -----------------------------------------------------------------------
    def alert_views(self) -> list[dict[str, Any]]:
        return [alert.as_json() for _, alert in sorted(self.alerts.items())]

    def alert_at(self, location: str) -> Alert | None:
        return self.alerts.get(place(location))

    def load_alerts(self, alerts: Iterable[Alert]) -> None:
        """The alerts the store kept (at start, before the CPs are registered)."""
        for alert in alerts:
            self.alerts[place(alert.location)] = alert

    # -- the weather office's calls ----------------------------------------------------
    def raise_alert(self, location: str, reading: Reading, actor: str,
                    now: Moment) -> tuple[Alert, bool, Effects]:
        """Raise (or update the reading of) the alert for ``location``: the alert, True
        if it is new, and the effects."""
        key = place(location)
        before = self.alerts.get(key)
        alert = Alert(before.location if before else location, reading.temperature_c,
                      reading.threshold_c, reading.observed_at,
                      before.raised_at if before else now.wall, actor)
        self.alerts[key] = alert
        effects: Effects = [fx.SaveAlert(alert)]
        if before is None:
            cp_ids = self._at(key)
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
        key = place(location)
        alert = self.alerts.pop(key, None)
        if alert is None:
            return None, []
        cp_ids = self._at(key)
        effects: Effects = [fx.DropAlert(alert.location),
                            fx.Announce(WeatherAlertCleared(alert.location, actor, cp_ids))]
        for cp_id in cp_ids:
            if WEATHER in self.cps[cp_id].stop_reasons:
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
        alert = self.alerts.get(place(cp.location))
        if alert is not None and WEATHER not in cp.stop_reasons:
            return self.stop(cp_id, WEATHER, alert.raised_by, now)
        if (alert is None and WEATHER in cp.stop_reasons and moved_from is not None
                and place(moved_from) != place(cp.location)
                and place(moved_from) in self.alerts):
            return self.lift(cp_id, WEATHER, "central", now)
        return []

    def _at(self, key: str) -> tuple[str, ...]:
        return tuple(sorted(cp.id for cp in self.cps.values() if place(cp.location) == key))

    def _alerts_changed(self) -> fx.Publish:
        return fx.Publish("alerts", self.alert_views())
