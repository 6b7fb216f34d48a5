"""The driver plane's shell: driver requests in, driver updates out, through the Fleet.

:class:`DriverDesk` answers each decoded request (:meth:`handle`, one handler per
request type in :data:`REQUESTS`) and turns the Fleet's session events into updates for
their drivers (:meth:`on_session`, a listener of the fleet's domain events).  It never
touches Kafka: updates go to ``publish(update)``, which
:mod:`cloud.central.kafka_io` sends to ``driver.updates``.  Decisions are the pure
functions of :mod:`cloud.central.drivers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cloud.central import drivers
from cloud.central.events import DomainEvent, SessionEvent
from protocol import driver as d
from runtime.routing import Routes

log = logging.getLogger(__name__)

Publish = Callable[[d.DriverMessage], None]
STOPPED_BY_DRIVER = "stopped by driver"
REQUESTS = Routes("driver request")


class DriverDesk:
    def __init__(self, fleet, publish: Publish) -> None:
        self.fleet = fleet
        self.publish = publish
        fleet.listen(self.on_session, SessionEvent)

    def on_session(self, event: DomainEvent) -> None:
        if not isinstance(event, SessionEvent):
            return
        update = drivers.update_for(event)
        if update is not None:
            self.publish(update)

    def handle(self, request: d.DriverMessage) -> None:
        handler = REQUESTS.handler(type(request))
        if handler is None:
            log.warning("%s: ignored a %s", request.driver_id, request.TYPE)
        else:
            handler(self, request)

    @REQUESTS.on(d.ChargeRequest)
    def charge(self, request: d.ChargeRequest) -> None:
        with self.fleet.lock:  # Accepted goes out before the CP can acknowledge
            outcome = self.fleet.charge(request.cp_id, request.driver_id, "driver")
            self.publish(drivers.answer_charge(request, outcome))

    @REQUESTS.on(d.ListRequest)
    def list_cps(self, request: d.ListRequest) -> None:
        cps = drivers.cp_list(self.fleet.cps())
        self.publish(d.CpList(driver_id=request.driver_id, ref=request.id, cps=cps))

    @REQUESTS.on(d.StopRequest)
    def stop(self, request: d.StopRequest) -> None:
        with self.fleet.lock:
            session = self.fleet.driver_session(request.driver_id)
            reason = drivers.stop_refusal(session, request.cp_id)
            if reason is None:
                cp_id, session_id = session["cp_id"], session["session_id"]
                sent = self.fleet.end_supply(cp_id, session_id, request.driver_id,
                                             STOPPED_BY_DRIVER)
                cancelled = self.fleet.cancel(session_id, STOPPED_BY_DRIVER)
                reason = None if sent or cancelled else "disconnected"
                log.info("%s: stop requested for the supply at %s%s", request.driver_id, cp_id,
                         "" if reason is None else f" (denied: {reason})")
            if reason is not None:
                self.publish(d.Denied(driver_id=request.driver_id, ref=request.id,
                                      reason=reason, cp_id=request.cp_id))

    @REQUESTS.on(d.StatusRequest)
    def status(self, request: d.StatusRequest) -> None:
        current = self.fleet.driver_session(request.driver_id)
        recent = drivers.recent_tickets(self.fleet.sessions(driver_id=request.driver_id))
        self.publish(d.DriverStatus(driver_id=request.driver_id, ref=request.id,
                                    current=current, recent=recent))
