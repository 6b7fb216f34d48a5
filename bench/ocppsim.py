"""A simulated OCPP 1.6J charger for benchmarks: raw OCPP-J frames, no I/O, time passed in.

Why raw frames and not ``ocpp``'s ``ChargePoint``: the simulator runs 2,000 chargers in
one process on the same two cores as the Central it measures.  ``ChargePoint`` validates
every message it sends and receives against the JSON schema and keeps a route map, a
lock and a response queue per connection; that is right for a charger, and it is what
Central itself runs, but here it would be the simulator's CPU competing with Central's
and showing in the lag it measures (measured here: its schema validation takes 37 us for
a StatusNotification and 208 us for a MeterValues, its payload conversion 40 us, and by
default, ``ocpp.messages.ASYNC_VALIDATION``, each validation is a hop to a thread pool;
building and encoding a frame here takes 10 us).  These builders write the same frames (camelCase,
UTC times with ``Z``, meter values as strings), and :class:`ChargerModel` keeps the
rules a charger must keep: one call at a time (the next waits for the answer to the
one before, or for its timeout, which never wedges it), Heartbeat at the interval the
BootNotification answer sets, Central's own calls always answered.

The model is sans-IO (as :mod:`protocol.link`): :meth:`start`, :meth:`received`,
:meth:`tick` and the actions return the frames to send; :meth:`next_due` says when to
call :meth:`tick` again.  ``now`` is wall-clock seconds (``time.time()``): the frames'
timestamps come from it.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CALL, CALLRESULT, CALLERROR = 2, 3, 4
ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
RESPONSE_TIMEOUT = 30.0  # seconds a call waits for Central's answer
METER_INTERVAL = 10.0  # seconds between MeterValues during a transaction
# Central's calls and how the simulated charger answers them (others: NotImplemented)
ANSWERS = {"ChangeAvailability": {"status": "Accepted"},
           "RemoteStartTransaction": {"status": "Rejected"},
           "RemoteStopTransaction": {"status": "Rejected"}}


def utc(now: float) -> str:
    """Wall-clock seconds as OCPP wants a time: UTC, ISO 8601, milliseconds, ``Z``."""
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def call_frame(unique_id: str, action: str, payload: dict) -> str:
    return json.dumps([CALL, unique_id, action, payload], separators=(",", ":"))


def boot_notification() -> dict:
    return {"chargePointVendor": "EV bench", "chargePointModel": "ocppsim"}


def status_notification(status: str, now: float, connector_id: int = 1,
                        error_code: str = "NoError") -> dict:
    return {"connectorId": connector_id, "errorCode": error_code, "status": status,
            "timestamp": utc(now)}


def start_transaction(id_tag: str, meter_start_wh: int, now: float) -> dict:
    return {"connectorId": 1, "idTag": id_tag, "meterStart": meter_start_wh,
            "timestamp": utc(now)}


def meter_values(transaction_id: int, register_wh: int, power_w: int, now: float) -> dict:
    return {"connectorId": 1, "transactionId": transaction_id, "meterValue": [{
        "timestamp": utc(now), "sampledValue": [
            {"value": str(register_wh), "measurand": ENERGY, "unit": "Wh"},
            {"value": str(power_w), "measurand": POWER, "unit": "W"}]}]}


def stop_transaction(transaction_id: int, id_tag: str, meter_stop_wh: int, now: float,
                     reason: str = "EVDisconnected") -> dict:
    return {"transactionId": transaction_id, "idTag": id_tag, "meterStop": meter_stop_wh,
            "timestamp": utc(now), "reason": reason}


def answer_to(message: list) -> str:
    """The charger's answer to one of Central's calls."""
    unique_id, action = message[1], message[2]
    if action in ANSWERS:
        return json.dumps([CALLRESULT, unique_id, ANSWERS[action]])
    return json.dumps([CALLERROR, unique_id, "NotImplemented",
                       f"the bench charger does not do {action}", {}])


@dataclass
class _Call:
    unique_id: str
    action: str
    payload: dict
    sent_at: float = 0.0


class ChargerModel:
    """One charger: boots, says it is Available, and with ``id_tag`` runs a transaction
    (StartTransaction, Charging, MeterValues every ``meter_interval`` s from ``phase``
    s after its start) until :meth:`stop_charging`."""

    def __init__(self, cp_id: str, id_tag: str | None = None, power_w: int = 7400,
                 phase: float = 0.0, meter_interval: float = METER_INTERVAL,
                 response_timeout: float = RESPONSE_TIMEOUT) -> None:
        self.cp_id, self.id_tag, self.power_w = cp_id, id_tag, power_w
        self.phase, self.meter_interval = phase, meter_interval
        self.response_timeout = response_timeout
        self.heartbeat_interval: float | None = None
        self.transaction_id: int | None = None
        self.meter_start_wh = 0
        self.started_at = 0.0
        self.billed_wh: list[int] = []  # the energy of each transaction stopped
        self.ready = False  # booted, Available (Charging with an idTag) answered
        self.round_trips: list[float] = []  # seconds from a call to Central's answer
        self.timeouts = 0
        self.errors: list[str] = []
        self.commands: list[str] = []  # Central's calls, by action
        self._queue: deque[_Call] = deque()
        self._pending: _Call | None = None
        self._next_heartbeat = math.inf
        self._next_meter = math.inf
        self._count = 0

    # -- what the shell calls ----------------------------------------------------------
    def start(self, now: float) -> list[str]:
        """The connection is open: BootNotification."""
        return self._call("BootNotification", boot_notification(), now)

    def received(self, text: str, now: float) -> list[str]:
        try:
            message = json.loads(text)
            kind, unique_id = message[0], message[1]
        except (ValueError, TypeError, IndexError, KeyError):
            self.errors.append(f"not an OCPP-J frame: {text[:80]!r}")
            return []
        if kind == CALL:
            self.commands.append(message[2])
            return [answer_to(message)]
        if self._pending is None or unique_id != self._pending.unique_id:
            self.errors.append(f"an answer to no call under way: {unique_id!r}")
            return []
        done, self._pending = self._pending, None
        self.round_trips.append(now - done.sent_at)
        if kind == CALLRESULT:
            self._answered(done, message[2], now)
        else:
            self.errors.append(f"{done.action}: {message[2]}: {message[3]}")
        return self._pump(now)

    def tick(self, now: float) -> list[str]:
        """Whatever is due: a call's timeout, a Heartbeat, a MeterValues."""
        if self._pending is not None and now >= self._pending.sent_at + self.response_timeout:
            self.timeouts += 1
            self.errors.append(f"{self._pending.action}: no answer within "
                               f"{self.response_timeout:g} s")
            self._pending = None
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval
            self._enqueue("Heartbeat", {})
        if now >= self._next_meter and self.transaction_id is not None:
            self._next_meter += self.meter_interval
            self._enqueue("MeterValues", meter_values(self.transaction_id,
                                                      self.register_wh(now), self.power_w, now))
        return self._pump(now)

    def next_due(self) -> float:
        timeout = self._pending.sent_at + self.response_timeout if self._pending else math.inf
        return min(timeout, self._next_heartbeat, self._next_meter)

    # -- actions -----------------------------------------------------------------------
    def fault(self, now: float, error_code: str = "GroundFailure") -> list[str]:
        return self._call("StatusNotification",
                          status_notification("Faulted", now, error_code=error_code), now)

    def recover(self, now: float) -> list[str]:
        status = "Charging" if self.transaction_id is not None else "Available"
        return self._call("StatusNotification", status_notification(status, now), now)

    def stop_charging(self, now: float) -> list[str]:
        if self.transaction_id is None:
            return []
        meter_stop = self.register_wh(now)
        self._enqueue("StopTransaction", stop_transaction(self.transaction_id, self.id_tag,
                                                          meter_stop, now))
        self.billed_wh.append(meter_stop - self.meter_start_wh)
        self.transaction_id, self._next_meter = None, math.inf
        self._enqueue("StatusNotification", status_notification("Finishing", now))
        return self._pump(now)

    @property
    def idle(self) -> bool:
        """No call under way and none waiting."""
        return self._pending is None and not self._queue

    def register_wh(self, now: float) -> int:
        """The meter's register: what flowed at ``power_w`` since the transaction began."""
        if self.transaction_id is None:
            return self.meter_start_wh
        return self.meter_start_wh + int(self.power_w * (now - self.started_at) / 3600)

    # -- the rules ---------------------------------------------------------------------
    def _answered(self, done: _Call, payload: Any, now: float) -> None:
        if done.action == "BootNotification":
            self.heartbeat_interval = float(payload.get("interval") or 60)
            self._next_heartbeat = now + self.heartbeat_interval
            if payload.get("status") != "Accepted":
                self.errors.append(f"BootNotification {payload.get('status')}")
                self._next_heartbeat = math.inf
                return
            self._enqueue("StatusNotification", status_notification("Available", now))
            if self.id_tag is not None:  # plugged in at once: the transaction begins
                self.started_at = now
                self._enqueue("StartTransaction", start_transaction(
                    self.id_tag, self.meter_start_wh, now))
        elif done.action == "StartTransaction":
            status = (payload.get("idTagInfo") or {}).get("status")
            if status != "Accepted":
                self.errors.append(f"StartTransaction: idTag {status}")
            self.transaction_id = int(payload["transactionId"])
            self._next_meter = now + self.phase
            self._enqueue("StatusNotification", status_notification("Charging", now))
        if done.action == "StatusNotification" and done.payload["status"] == (
                "Available" if self.id_tag is None else "Charging"):
            self.ready = True

    def _call(self, action: str, payload: dict, now: float) -> list[str]:
        self._enqueue(action, payload)
        return self._pump(now)

    def _enqueue(self, action: str, payload: dict) -> None:
        self._count += 1
        self._queue.append(_Call(f"{self.cp_id}-{self._count}", action, payload))

    def _pump(self, now: float) -> list[str]:
        """The next call, if none is under way (OCPP-J: one at a time)."""
        if self._pending is not None or not self._queue:
            return []
        self._pending = self._queue.popleft()
        self._pending.sent_at = now
        return [call_frame(self._pending.unique_id, self._pending.action,
                           self._pending.payload)]


def expected_kwh(models: list[ChargerModel]) -> Decimal:
    """The energy of every transaction the chargers stopped, in kWh (Central's sessions
    should sum to this)."""
    return sum((Decimal(wh) / 1000 for m in models for wh in m.billed_wh), Decimal(0))
