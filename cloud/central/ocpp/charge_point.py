"""One OCPP 1.6J charger's connection at Central: the ``ocpp`` handlers, a thin shell.

Each handler parses what it needs (leniently only where real chargers break the schema:
StartTransaction, StopTransaction and MeterValues, whose numbers come as strings or with
decimals and whose units are often missing; every other message is validated against
the OCPP 1.6 schema by ``ocpp``), asks the pure core (:mod:`.core`,
:mod:`.transactions`), stores what must be stored and tells the fleet, under its lock,
in one step.  A handler never awaits a call to the charger (the call's answer is read by
this same loop: it would wait for itself); commands go out through the
:class:`~cloud.central.ocpp.port.OcppPort`, which schedules them as tasks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ocpp.exceptions import FormationViolationError
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    DataTransferStatus,
    RegistrationStatus,
)

from cloud.central.ocpp import core, transactions
from cloud.central.ocpp.core import BadOcpp
from cloud.central.ocpp.port import OcppPort
from protocol import messages as m

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 300  # seconds: liveness is the WebSocket's pings, not Heartbeat.req


class _WireLog:
    """``ocpp``'s logger, tamed: every message at debug, and what it would log with a
    traceback (a malformed frame, a handler's refusal) as one line."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger

    def info(self, msg, *args, **kwargs) -> None:
        self._log.debug(msg, *args)

    debug = info

    def warning(self, msg, *args, **kwargs) -> None:
        self._log.warning(msg, *args)

    def error(self, msg, *args, **kwargs) -> None:
        self._log.warning(msg, *args)

    exception = error


WIRE_LOG = _WireLog(logging.getLogger("cloud.central.ocpp.wire"))


def _parsed(parse, *args: Any, **kwargs: Any):
    try:
        return parse(*args, **kwargs)
    except BadOcpp as error:
        raise FormationViolationError(description=str(error)) from None


class Charger(ChargePoint):
    def __init__(self, cp_id: str, connection, server, peer: str) -> None:
        super().__init__(cp_id, connection, response_timeout=server.response_timeout,
                         logger=WIRE_LOG)
        self.server = server
        self.fleet = server.fleet
        self.records = server.records
        self.peer = peer
        self.statuses: dict[int, tuple[str, str]] = {}  # connector -> (status, fault)
        self.tasks: set[asyncio.Task] = set()  # calls under way
        self.port = OcppPort(self, server.loop)

    @property
    def response_timeout(self) -> float:
        return self._response_timeout

    def close(self, reason: str) -> None:
        """Close the connection (from the loop's thread)."""
        task = asyncio.ensure_future(self._connection.close(1000, reason[:120]))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- the charger's requests --------------------------------------------------------
    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str,
                             **_: Any) -> call_result.BootNotification:
        log.info("%s: boot notification (%s %s)", self.id, charge_point_vendor,
                 charge_point_model)
        return call_result.BootNotification(current_time=m.utc_now(),
                                            interval=HEARTBEAT_INTERVAL,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=m.utc_now())

    @on(Action.status_notification)
    def on_status_notification(self, connector_id: int, error_code: str, status: str,
                               info: str | None = None, vendor_error_code: str | None = None,
                               **_: Any) -> call_result.StatusNotification:
        fault = core.fault_text(error_code, info, vendor_error_code)
        self.statuses[connector_id] = (status, fault)
        self.fleet.on_status(self.id, core.report(self.statuses))
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": self._tag_status(id_tag)})

    def _tag_status(self, id_tag: str | None) -> str:
        known = self.fleet.driver_known(id_tag)
        return AuthorizationStatus.accepted if known else AuthorizationStatus.invalid

    @on(Action.start_transaction, skip_schema_validation=True)
    def on_start_transaction(self, connector_id: Any = None, id_tag: Any = None,
                             meter_start: Any = None, timestamp: Any = None,
                             **_: Any) -> call_result.StartTransaction:
        request = _parsed(transactions.start_request, connector_id, id_tag, meter_start,
                          timestamp)
        fleet = self.fleet
        with fleet.lock:
            existing = self.records.find(transactions.start_key(self.id, request))
            authorization = fleet.authorization_at(self.id)
            transaction, new = transactions.start(
                self.id, request, existing, fleet.price_of(self.id) or "0",
                fleet.driver_known(request.id_tag),
                authorization and (authorization.session_id, authorization.driver_id),
                m.new_id())
            if new:
                transaction = self.records.add(transaction)
                self._end_superseded(transaction)
            else:
                log.info("%s: StartTransaction repeated: transaction %s again", self.id,
                         transaction.transaction_id)
            if transaction.stopped_at is None:
                fleet.on_supply_started(transactions.started(transaction))
        return call_result.StartTransaction(
            transaction_id=transaction.transaction_id,
            id_tag_info={"status": self._tag_status(request.id_tag)})

    def _end_superseded(self, new: transactions.Transaction) -> None:
        """End the transactions a new one on their connector shows are over (under the
        fleet's lock, before the new one's start record)."""
        stale = self.records.open_on(self.id, new.connector_id)
        for old, record in transactions.superseded(stale, new):
            self.records.stopped(old.transaction_id, record.ended_at, new.meter_start_wh,
                                 record.reason)
            self.fleet.note("warning", self.id, f"transaction {old.transaction_id} "
                            f"{record.reason}; billed {record.kwh} kWh")
            self.fleet.on_supply_ended(record)

    @on(Action.stop_transaction, skip_schema_validation=True)
    def on_stop_transaction(self, transaction_id: Any = None, meter_stop: Any = None,
                            timestamp: Any = None, reason: Any = None, id_tag: Any = None,
                            transaction_data: Any = None,
                            **_: Any) -> call_result.StopTransaction:
        request = _parsed(transactions.stop_request, transaction_id, meter_stop, timestamp,
                          reason, id_tag, transaction_data)
        fleet = self.fleet
        with fleet.lock:
            transaction = self.records.get(request.transaction_id)
            if transaction is not None and transaction.cp_id != self.id:
                transaction = None  # another charger's: this one cannot end it
            record = transactions.ending(
                self.id, request, transaction, fleet.price_of(self.id) or "0",
                fleet.driver_known(request.id_tag),
                self.port.remote_reasons.pop(request.transaction_id, None))
            if transaction is not None:
                self.records.stopped(transaction.transaction_id, request.timestamp,
                                     request.meter_stop_wh, record.reason)
            else:
                fleet.note("warning", self.id, f"StopTransaction for unknown transaction "
                           f"{request.transaction_id}: recorded as session {record.session_id}")
            fleet.on_supply_ended(record)
        if request.id_tag is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(id_tag_info={"status": self._tag_status(
            request.id_tag)})

    @on(Action.meter_values, skip_schema_validation=True)
    def on_meter_values(self, connector_id: Any = None, meter_value: Any = None,
                        transaction_id: Any = None, **_: Any) -> call_result.MeterValues:
        reading = _parsed(core.latest, meter_value if meter_value is not None else [])
        if transaction_id is None or reading is None:
            return call_result.MeterValues()  # the connector's readings: nothing to bill
        tid = _parsed(core.number, transaction_id, "transactionId")
        transaction = self.records.get(int(tid))
        if transaction is not None and transaction.cp_id == self.id \
                and transaction.stopped_at is None:
            self.fleet.on_telemetry(transactions.progress(transaction, reading))
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
