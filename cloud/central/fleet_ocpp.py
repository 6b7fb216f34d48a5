"""The fleet's OCPP operations, mixed into :class:`cloud.central.fleet.Fleet` (its lock,
its core, its store, its event stream): what the OCPP endpoint
(:mod:`cloud.central.ocpp`) asks of the fleet beyond the hooks every CP link uses.

An OCPP charger authenticates with HTTP Basic auth at every connection: that login is
audited as any CP's, and it lifts ``key revoked`` as a framed monitor's re-authentication
does (an OCPP charger holds no key of ours; revoking it closes its connection, and it is
back in service once it connects again with its password).  Its liveness is its
WebSocket, not its heartbeats (:attr:`cloud.central.cptable.CpRecord.heartbeats`).
"""

from __future__ import annotations

from cloud.central import effects as fx
from cloud.central.cptable import Authorization
from cloud.central.events import AuthOk, CpCommand
from cloud.central.ocpp.core import Report
from cloud.central.ports import CpPort
from protocol.states import Health


class OcppDesk:
    """Mixed into Fleet; uses its ``_lock``, ``_core``, ``_run``, ``_now``, ``store``,
    ``events`` and ``on_connected``."""

    def ocpp_login(self, cp_id: str, peer: str) -> bool:
        """A charger proved its password from ``peer``; False if it is not registered
        (any more)."""
        with self._lock:
            if self.store.cp(cp_id) is None:
                return False
            now = self._now()
            self._notice_registrations(now)  # registered by another process just now?
            self.store.set_last_auth(cp_id, now.wall)
            self.events.emit(AuthOk(cp_id, peer))
            self._run(self._core.logged_in(cp_id, None, None, f"cp@{peer}", now))
            return True

    def on_ocpp_connected(self, cp_id: str, port: CpPort) -> None:
        """The charger's WebSocket is open: connected while it stays open, healthy and
        doing nothing known until its first StatusNotification says otherwise."""
        with self._lock:
            self.on_connected(cp_id, port, heartbeats=False)
            self.on_status(cp_id, Report(Health.OK, None))

    def on_status(self, cp_id: str, report: Report) -> None:
        """The charger's statuses, in a heartbeat's words."""
        with self._lock:
            self._run(self._core.status(cp_id, report.engine, report.state, report.reason,
                                        self._now()))

    def authorization_at(self, cp_id: str) -> Authorization | None:
        """Central's authorization waiting for the vehicle at the CP, if any."""
        with self._lock:
            return self._core.authorization_at(cp_id)

    def driver_known(self, driver_id: str | None) -> bool:
        return bool(driver_id) and self.store.driver(driver_id) is not None

    def price_of(self, cp_id: str) -> str | None:
        """The CP's price now (EUR/kWh), None for an unknown CP."""
        with self._lock:
            cp = self._core.cps.get(cp_id)
            return cp.price if cp is not None else None

    def note(self, level: str, cp_id: str, text: str) -> None:
        """An application message about the CP: logged, kept, on the dashboard."""
        with self._lock:
            self._run([fx.Note(level, cp_id, text)])

    def on_cp_command(self, cp_id: str, actor: str, action: str, params: dict,
                      outcome: str, answer: str = "") -> None:
        """An administrator's OCPP operation on a charger (Reset, GetConfiguration...):
        audited with what the charger answered."""
        with self._lock:
            self.events.emit(CpCommand(cp_id, actor, action, params, outcome, answer))
