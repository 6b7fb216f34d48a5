"""The monitor's decisions as an OCPP 1.6J charge point: no I/O, no clock, no threads.

Events come in with the time (:class:`~edge.engine.clock.Now`: monotonic for durations,
wall clock for the messages): the engine link (:meth:`OcppCore.from_engine`), the
central system's link (:meth:`~OcppCore.csms_connected`, the answers to our calls, the
calls it makes) and time passing (:meth:`~OcppCore.tick`).  Actions come out for the
shell (:mod:`edge.monitor.ocpp_service`): :class:`Call` (send now, one at a time),
:class:`Enqueue` (a transaction message, stored durably *before* the engine's record
is acknowledged, sent in order by :class:`~edge.monitor.ocpp_link.OcppLink`),
:class:`Delivered` (the central system answered the head of that queue), :class:`ToEngine`,
:class:`SaveConfig`, :class:`ScheduleInoperative`, :class:`Reconnect` and the monitor's
:class:`EngineHealth`/:class:`Note`.

Supplies and transactions: the engine journals a supply and sends its ``SupplyStarted``
and ``SupplyEnded`` records until acknowledged; each becomes a StartTransaction or a
StopTransaction (register readings in Wh: ``meterStop - meterStart`` is the supply's
energy; times from the journal), queued once per session (a record sent again is only
acknowledged again).  The transaction id the central system gives a StartTransaction is
the one its MeterValues and StopTransaction carry.

Two parts of the core live beside it, on its state: what the central system asks
(:mod:`edge.monitor.ocpp_requests`) and what it answers (:mod:`edge.monitor.ocpp_answers`).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ocpp.v16 import call

from edge.engine.clock import Now
from protocol import messages as m
from protocol.states import EngineState, Health
from runtime.routing import Routes

from .core import Dropped, EngineHealth, ToEngine
from .health import HealthChanged, HealthTracker, SendCheck
from .ocpp_actions import (
    Action,
    Call,
    Connector,
    Delivered,
    Enqueue,
    Note,
    Reconnect,
    SaveConfig,
    ScheduleInoperative,
    connector_status,
)
from .ocpp_answers import CentralSystemAnswers
from .ocpp_config import Configuration
from .ocpp_ledger import ID_TAG, Ledger, Supply, Transaction, meter_value
from .ocpp_requests import CENTRAL_SYSTEM, CONNECTOR, CentralSystemRequests

VENDOR, MODEL = "evcharging", "ev-cp"
COMMAND_TTL = timedelta(seconds=30)

FROM_ENGINE = Routes("message from the engine (OCPP mode)")


class OcppCore(CentralSystemRequests, CentralSystemAnswers):
    def __init__(self, cp_id: str, *, price: Decimal, config: Configuration, ledger: Ledger,
                 firmware: str = "", check_timeout: float = 0.9,
                 inoperative_scheduled: bool = False) -> None:
        self.cp_id = cp_id
        self.price = price
        self.config = config
        self.ledger = ledger
        self.firmware = firmware
        self.health = HealthTracker(timeout=check_timeout)
        self.connector = Connector()
        self.engine_up = False
        self.connected = False  # the WebSocket is open
        self.accepted = False  # ... and the central system accepted our BootNotification
        self.status: tuple[str, str] | None = None  # (status, errorCode) last notified
        # a ChangeAvailability to Inoperative answered Scheduled (kept across a restart)
        self.unavailable_after_supply = inoperative_scheduled
        self.reset: str | None = None  # Reset answered Accepted: reconnect when idle
        self._next_boot: float | None = None
        self._next_heartbeat: float | None = None
        self._next_sample: float | None = None
        self._requests: dict[str, m.SupplyRequest] = {}  # Authorize calls under way

    # -- the engine ---------------------------------------------------------------
    def engine_connected(self, now: Now) -> list[Action]:
        self.engine_up = True
        out: list[Action] = [ToEngine(self._central_status())]
        return out + self._health(now, self.health.connected(now.mono))

    def engine_lost(self, now: Now, reason: str) -> list[Action]:
        self.engine_up = False
        self.connector = Connector()
        return self._health(now, self.health.lost(now.mono, reason))

    def from_engine(self, now: Now, message: m.Message) -> list[Action]:
        handler = FROM_ENGINE.handler(type(message))
        if handler is None:
            return [Dropped(message, "not expected from the engine")]
        return handler(self, now, message) + self._status(now)

    @FROM_ENGINE.on(m.HealthReport)
    def _health_report(self, now: Now, report: m.HealthReport) -> list[Action]:
        outputs = self.health.report(now.mono, report.seq, report.status, state=report.state,
                                     session_id=report.session_id, driver_id=report.driver_id)
        return self._health(now, outputs) + self._after_supply(now)

    @FROM_ENGINE.on(m.MeterReading)
    def _meter_reading(self, now: Now, reading: m.MeterReading) -> list[Action]:
        self.connector = Connector(reading.plugged, reading.session_id,
                                   Decimal(reading.kw or 0), Decimal(reading.kwh or 0))
        return []

    @FROM_ENGINE.on(m.SupplyRequest)
    def _supply_request(self, now: Now, request: m.SupplyRequest) -> list[Action]:
        """A card or the request button: Authorize its id tag (the driver, or ad hoc)."""
        if not self.accepted:
            return [ToEngine(self._denied(request, f"{CENTRAL_SYSTEM} unreachable"))]
        tag = m.driver_or_ad_hoc(request.driver_id)
        if len(tag) > ID_TAG:
            return [ToEngine(self._denied(request, f"id tag longer than {ID_TAG} characters"))]
        self._requests[request.id] = request
        return [Call(call.Authorize(id_tag=tag), ref=request.id)]

    @FROM_ENGINE.on(m.SupplyStarted, m.SupplyEnded)
    def _record(self, now: Now, record: m.SupplyStarted | m.SupplyEnded) -> list[Action]:
        """Queue the record's transaction message once; acknowledge it to the engine
        every time (after the shell stored it: actions run in order)."""
        queued = self.ledger.record(record)
        out: list[Action] = [self._enqueue(t) for t in queued]
        if isinstance(record, m.SupplyStarted) and queued:
            self._next_sample = now.mono + self.config.seconds("MeterValueSampleInterval")
        ack = m.RecordAck(cp_id=self.cp_id, ref=record.id, session_id=record.session_id)
        return out + [ToEngine(ack)]

    @FROM_ENGINE.on(m.CommandResult)
    def _command_result(self, now: Now, result: m.CommandResult) -> list[Action]:
        if result.ok:
            return [Note(f"engine did command {result.ref}")]
        return [Note(f"engine refused command {result.ref}: {result.reason}", "warning")]

    @FROM_ENGINE.on(m.Refused)
    def _refused(self, now: Now, refused: m.Refused) -> list[Action]:
        return [Dropped(refused, f"the engine refused this monitor: {refused.reason}")]

    # -- the central system's link --------------------------------------------------
    def csms_connected(self, now: Now) -> list[Action]:
        self.connected, self.accepted, self.status = True, False, None
        self._next_boot = None
        return [self._boot()]

    def csms_lost(self, now: Now) -> list[Action]:
        was = self.accepted
        self.connected = self.accepted = False
        self._next_boot = self._next_heartbeat = None
        out: list[Action] = []
        for ref in list(self._requests):
            out.append(ToEngine(self._denied(self._requests.pop(ref),
                                             f"{CENTRAL_SYSTEM} unreachable")))
        if was and self.engine_up:
            out.append(ToEngine(self._central_status()))
        return out

    # -- time ---------------------------------------------------------------------
    def tick(self, now: Now) -> list[Action]:
        out = self._health(now, self.health.tick(now.mono))
        mono = now.mono
        if self._next_boot is not None and mono >= self._next_boot:
            self._next_boot = None
            out.append(self._boot())
        if self.accepted and self._next_heartbeat is not None and mono >= self._next_heartbeat:
            self._next_heartbeat = mono + self.config.seconds("HeartbeatInterval")
            out.append(Call(call.Heartbeat()))
        out += self._sample(now)
        return out + self._after_supply(now) + self._status(now)

    def deadline(self) -> float | None:
        times = [self.health.deadline(), self._next_boot, self._next_heartbeat, self._next_sample]
        return min((t for t in times if t is not None), default=None)

    # -- internals ----------------------------------------------------------------
    def _health(self, now: Now, outputs: list) -> list[Action]:
        out: list[Action] = []
        for output in outputs:
            if isinstance(output, SendCheck):
                out.append(ToEngine(m.HealthCheck(cp_id=self.cp_id, seq=output.seq)))
                out.append(ToEngine(m.MeterRequest(cp_id=self.cp_id)))
            elif isinstance(output, HealthChanged):
                out.append(EngineHealth(output.engine, output.reason))
        return out + self._status(now)

    def _sample(self, now: Now) -> list[Action]:
        """MeterValues of the supply under way every MeterValueSampleInterval seconds."""
        interval = self.config.seconds("MeterValueSampleInterval")
        supply = self._supply()
        if supply is None or interval <= 0:
            self._next_sample = None
            return []
        if self._next_sample is None:
            self._next_sample = now.mono + interval
        if now.mono < self._next_sample:
            return []
        self._next_sample = now.mono + interval
        values = [meter_value(now.iso, supply.meter_start, self.connector.kwh,
                              self.connector.kw, "Sample.Periodic")]
        queued = self.ledger.meter_values(supply.session_id, values)
        return [self._enqueue(queued)]

    def _enqueue(self, transaction: Transaction) -> Enqueue:
        supply = dataclasses.replace(self.ledger.supplies[transaction.session_id])
        return Enqueue(transaction, supply, self.ledger.register_wh)

    def _supply(self) -> Supply | None:
        """The supply under way, when the engine's meter and the ledger both know it."""
        session = self.connector.session_id
        if session is None or session != self.health.session_id:
            return None
        return self.ledger.open_supply(session)

    def _meter_values(self, now: Now, context: str) -> Any:
        supply = self._supply()
        if supply is None:
            values = [meter_value(now.iso, self.ledger.register_wh, Decimal(0), Decimal(0),
                                  context)]
            return call.MeterValues(connector_id=CONNECTOR, meter_value=values)
        values = [meter_value(now.iso, supply.meter_start, self.connector.kwh,
                              self.connector.kw, context)]
        return call.MeterValues(connector_id=CONNECTOR, meter_value=values,
                                transaction_id=self.ledger.transaction_id(supply.session_id))

    def _after_supply(self, now: Now) -> list[Action]:
        """What waited for the supply to end: a scheduled Inoperative, a Reset."""
        if self.health.state in (EngineState.SUPPLYING, EngineState.AUTHORIZED) \
                and self.health.health == Health.OK:
            return []
        out: list[Action] = []
        if self.unavailable_after_supply and self.engine_up:
            out += self._schedule_inoperative(False)
            out.append(ToEngine(self._command(now, m.Action.STOP)))
        if self.reset is not None and self.health.session_id is None:
            out.append(Reconnect(f"{self.reset} reset asked by the {CENTRAL_SYSTEM}"))
            self.reset = None
        return out

    def _status(self, now: Now) -> list[Action]:
        """A StatusNotification whenever the connector's status changes."""
        if not self.accepted:
            return []
        current = connector_status(self.health.health, self.health.state,
                                   self.connector.plugged, self.status and self.status[0])
        if current == self.status:
            return []
        self.status = current
        status, error = current
        info = self.health.reason[:50] if status == "Faulted" else None
        return [Call(call.StatusNotification(connector_id=CONNECTOR, error_code=error,
                                             status=status, timestamp=now.iso, info=info))]

    def _boot(self) -> Call:
        return Call(call.BootNotification(charge_point_vendor=VENDOR, charge_point_model=MODEL,
                                          charge_point_serial_number=self.cp_id[:25],
                                          firmware_version=self.firmware[:50] or None))

    def _command(self, now: Now, action: m.Action, **fields) -> m.Command:
        expires = (now.wall + COMMAND_TTL).isoformat(timespec="milliseconds")
        price = str(self.price) if action == m.Action.AUTHORIZE else None
        return m.Command(cp_id=self.cp_id, action=action, price_eur_kwh=price,
                         expires_at=expires.replace("+00:00", "Z"), **fields)

    def _denied(self, request: m.SupplyRequest, reason: str) -> m.SupplyDenied:
        return m.SupplyDenied(cp_id=self.cp_id, ref=request.id, reason=reason)

    def _central_status(self) -> m.CentralStatus:
        return m.CentralStatus(cp_id=self.cp_id, up=self.accepted, address=CENTRAL_SYSTEM)


__all__ = ["OcppCore", "Action", "Call", "Delivered", "Dropped", "EngineHealth", "Enqueue",
           "Note", "Reconnect", "SaveConfig", "ScheduleInoperative", "ToEngine",
           "connector_status", "CONNECTOR"]
