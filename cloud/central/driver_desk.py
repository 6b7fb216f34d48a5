"""The driver plane's shell: driver requests in, driver updates out, through the Fleet.

:class:`DriverDesk` answers each decoded request (:meth:`handle`) and turns the Fleet's
session events into updates for their drivers (:meth:`on_session`, registered with
``fleet.listen``).  It never touches Kafka: updates go to ``publish(update)``, which
:mod:`cloud.central.kafka_io` sends to ``driver.updates``.  Decisions are the pure
functions of :mod:`cloud.central.drivers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cloud.central import drivers
from cloud.central.supplies import SessionEvent
from protocol import driver as d

log = logging.getLogger(__name__)

Publish = Callable[[d.DriverMessage], None]
STOPPED_BY_DRIVER = "stopped by driver"


class DriverDesk:
    def __init__(self, fleet, publish: Publish) -> None:
        self.fleet = fleet
        self.publish = publish
        fleet.listen(self.on_session)

    def on_session(self, event: SessionEvent) -> None:
        update = drivers.update_for(event)
        if update is not None:
            self.publish(update)

    def handle(self, request: d.DriverMessage) -> None:
        if isinstance(request, d.ChargeRequest):
            self.charge(request)
        elif isinstance(request, d.StopRequest):
            self.stop(request)
        elif isinstance(request, d.ListRequest):
            cps = drivers.cp_list(self.fleet.cps())
            self.publish(d.CpList(driver_id=request.driver_id, ref=request.id, cps=cps))
        elif isinstance(request, d.StatusRequest):
            self.status(request)

    def charge(self, request: d.ChargeRequest) -> None:
        with self.fleet.lock:  # Accepted goes out before the CP can acknowledge
            outcome = self.fleet.charge(request.cp_id, request.driver_id, "driver")
            self.publish(drivers.answer_charge(request, outcome))
            if not isinstance(outcome, str) and not self.fleet.send(request.cp_id, outcome):
                self.fleet.cancel(outcome.session_id, "disconnected")

    def stop(self, request: d.StopRequest) -> None:
        with self.fleet.lock:
            session = self.fleet.driver_session(request.driver_id)
            reason = drivers.stop_refusal(session, request.cp_id)
            if reason is None:
                cp_id, session_id = session["cp_id"], session["session_id"]
                command = self.fleet.command(cp_id, "end_supply", session_id=session_id,
                                             driver_id=request.driver_id,
                                             reason=STOPPED_BY_DRIVER)
                sent = self.fleet.send(cp_id, command)
                cancelled = self.fleet.cancel(session_id, STOPPED_BY_DRIVER)
                reason = None if sent or cancelled else "disconnected"
                log.info("%s: stop requested for the supply at %s%s", request.driver_id, cp_id,
                         "" if reason is None else f" (denied: {reason})")
            if reason is not None:
                self.publish(d.Denied(driver_id=request.driver_id, ref=request.id,
                                      reason=reason, cp_id=request.cp_id))

    def status(self, request: d.StatusRequest) -> None:
        current = self.fleet.driver_session(request.driver_id)
        recent = drivers.recent_tickets(self.fleet.sessions(driver_id=request.driver_id))
        self.publish(d.DriverStatus(driver_id=request.driver_id, ref=request.id,
                                    current=current, recent=recent))
