"""Carrying out the fleet core's effects, in order: the shell's one place of I/O.

:data:`EXECUTE` has one handler per kind of effect (:mod:`cloud.central.effects`):
commands go through the CP's :class:`~cloud.central.ports.CpPort` (none while it is
not connected), store writes to the :class:`~cloud.central.store.Store`, dashboard
events and application messages to the :class:`~cloud.central.hub.Hub`, domain events
to the :class:`~cloud.central.events.EventStream`.  The fleet holds its lock meanwhile.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from cloud.central import effects as fx
from cloud.central.events import EventStream
from cloud.central.hub import Hub
from cloud.central.ports import CpPort
from cloud.central.store import Store
from runtime.routing import Routes

log = logging.getLogger("cloud.central.fleet")

EXECUTE = Routes("fleet effect")  # one handler per kind of effect the core returns


class Executor:
    def __init__(self, store: Store, hub: Hub, events: EventStream,
                 counters: Counter[str]) -> None:
        self.store = store
        self.hub = hub
        self.events = events
        self.counters = counters
        self.ports: dict[str, CpPort] = {}  # the connected CPs'

    def run(self, effects: list[fx.Effect]) -> None:
        for effect in effects:
            EXECUTE.handler(type(effect))(self, effect)

    def _command(self, cp_id: str, send: Callable[[CpPort], None]) -> None:
        port = self.ports.get(cp_id)
        if port is None:
            return
        self.counters["commands_sent"] += 1
        try:
            send(port)
        except Exception:
            log.exception("%s: could not send a command", cp_id)

    @EXECUTE.on(fx.Authorize)
    def _authorize(self, effect: fx.Authorize) -> None:
        self._command(effect.cp_id, lambda port: port.authorize(
            effect.session_id, effect.driver_id, effect.price_eur_kwh))

    @EXECUTE.on(fx.Stop)
    def _stop(self, effect: fx.Stop) -> None:
        self._command(effect.cp_id, lambda port: port.stop(effect.reason))

    @EXECUTE.on(fx.Resume)
    def _resume(self, effect: fx.Resume) -> None:
        self._command(effect.cp_id, lambda port: port.resume(effect.reason))

    @EXECUTE.on(fx.EndSupply)
    def _end_supply(self, effect: fx.EndSupply) -> None:
        self._command(effect.cp_id, lambda port: port.end_supply(
            effect.session_id, effect.driver_id, effect.reason))

    @EXECUTE.on(fx.RevokeKey)
    def _revoke_key(self, effect: fx.RevokeKey) -> None:
        self._command(effect.cp_id, lambda port: port.revoke_key(effect.reason))

    @EXECUTE.on(fx.Disconnect)
    def _disconnect(self, effect: fx.Disconnect) -> None:
        self._command(effect.cp_id, lambda port: port.disconnect(effect.reason))

    @EXECUTE.on(fx.RecordAuthorized)
    def _record_authorized(self, e: fx.RecordAuthorized) -> None:
        self.store.record_authorized(e.session_id, e.cp_id, e.driver_id, e.source,
                                     e.price_eur_kwh, e.at)

    @EXECUTE.on(fx.RecordDenied)
    def _record_denied(self, e: fx.RecordDenied) -> None:
        self.store.record_denied(e.cp_id, e.driver_id, e.source, e.reason, e.at)

    @EXECUTE.on(fx.ExpireSession)
    def _expire(self, e: fx.ExpireSession) -> None:
        self.store.expire(e.session_id, e.reason, e.at)

    @EXECUTE.on(fx.SaveStopReasons)
    def _save_stop_reasons(self, e: fx.SaveStopReasons) -> None:
        self.store.set_stop_reasons(e.cp_id, e.reasons)

    @EXECUTE.on(fx.SaveLocation)
    def _save_location(self, e: fx.SaveLocation) -> None:
        self.store.set_location(e.cp_id, e.location)

    @EXECUTE.on(fx.SaveAlert)
    def _save_alert(self, e: fx.SaveAlert) -> None:
        self.store.save_alert(e.alert)

    @EXECUTE.on(fx.DropAlert)
    def _drop_alert(self, e: fx.DropAlert) -> None:
        self.store.drop_alert(e.location)

    @EXECUTE.on(fx.Publish)
    def _publish(self, e: fx.Publish) -> None:
        self.hub.publish(e.event, e.data)

    @EXECUTE.on(fx.Note)
    def _note(self, e: fx.Note) -> None:
        self.hub.note(e.level, e.cp_id, e.text)

    @EXECUTE.on(fx.Announce)
    def _announce(self, e: fx.Announce) -> None:
        self.events.emit(e.event)
