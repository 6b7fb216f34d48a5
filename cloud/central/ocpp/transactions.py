"""OCPP transactions as Central's sessions: pure decisions, no I/O, no clock.

A charger numbers nothing: Central gives each StartTransaction a transaction id (the
shell's table allocates it) and maps it to a session (``session_id``), the unit every
supply record, ticket and dashboard tile is keyed by.  The rules, as real chargers
behave (their answers get lost, they queue transactions offline and send them in a
burst when they are back):

- a repeated StartTransaction (same CP, connector, idTag, timestamp and meterStart: its
  answer was lost) gets the transaction it got the first time (:func:`start`);
- a remote start's StartTransaction (the idTag of the driver Central authorized there)
  continues that authorization's session; any other gets a session of its own;
- ``meterStart``/``meterStop`` are the meter's register in Wh: the energy is their
  difference, billed at the price of the session by :func:`edge.engine.meter.billed`
  (the one rounding rule), with the messages' own timestamps as start and end, never
  their arrival time (:func:`ending`);
- a connector serves one transaction at a time: a new StartTransaction on a connector
  whose earlier transaction is still open (its StopTransaction never came: a charger
  that lost power, or its queue) ends that one (:func:`superseded`), billed by the
  register at the new one's start, so it is never left open unbilled;
- a StopTransaction is always answered: for a transaction Central does not know (its
  start lost, or another Central's) it is recorded all the same, as a session of its own
  whose id is derived from the CP and the transaction id, so a repeated one is recorded
  once; it is billed by the transaction data's first register reading when there is
  one, else as 0 kWh with the reason saying why;
- nothing is billed twice: the fleet's supply records are idempotent by session id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cloud.central.ocpp.core import BadOcpp, Sample, begin_and_end, number, utc
from edge.engine.meter import billed
from protocol import messages as m
from protocol.data import Telemetry
from protocol.rules import DRIVER_ID

WH_PER_KWH = Decimal(1000)
UNKNOWN = uuid.UUID("5d0c2f8e-7f43-4c55-9b1e-0c6f1d3a9e21")  # namespace of unknown ones
MAX_ID_TAG = 20  # OCPP 1.6 IdToken

# StopTransaction's reason -> how a ticket says it (Local when the charger says none).
REASONS = {
    "EVDisconnected": "unplugged", "Local": "stopped at the CP", "Remote": "stopped by Central",
    "EmergencyStop": "emergency stop", "PowerLoss": "power loss", "HardReset": "CP reset",
    "SoftReset": "CP reset", "Reboot": "CP rebooted", "UnlockCommand": "connector unlocked",
    "DeAuthorized": "driver not authorized", "Other": "other",
}


@dataclass(frozen=True)
class StartRequest:
    connector_id: int
    id_tag: str
    meter_start_wh: Decimal
    timestamp: str  # UTC, ``Z``


@dataclass(frozen=True)
class StopRequest:
    transaction_id: int
    meter_stop_wh: Decimal
    timestamp: str
    reason: str  # an OCPP Reason
    id_tag: str | None = None
    first: Sample | None = None  # the transaction data's earliest register reading


@dataclass(frozen=True)
class Transaction:
    """A transaction Central gave an id (``transaction_id`` 0 until the table allocates
    one), and its session."""

    transaction_id: int
    cp_id: str
    connector_id: int
    id_tag: str
    meter_start_wh: Decimal
    started_at: str
    session_id: str
    driver_id: str | None
    price_eur_kwh: str
    stopped_at: str | None = None
    meter_stop_wh: Decimal | None = None
    reason: str | None = None

    @property
    def key(self) -> tuple[str, int, str, str, str]:
        """What makes a StartTransaction the same one again."""
        return start_key(self.cp_id, StartRequest(self.connector_id, self.id_tag,
                                                  self.meter_start_wh, self.started_at))


def start_key(cp_id: str, request: StartRequest) -> tuple[str, int, str, str, str]:
    return (cp_id, request.connector_id, request.id_tag, request.timestamp,
            wh(request.meter_start_wh))


def wh(value: Decimal) -> str:
    """A register reading as one canonical string (``1000`` for 1000.0 and 1E+3)."""
    return format(value.normalize(), "f")


def driver_id(id_tag: str | None, known: bool) -> str | None:
    """The driver an idTag names: a registered driver's id; None for a card Central does
    not know (the supply is still recorded, without a driver)."""
    return id_tag if known and id_tag and DRIVER_ID.match(id_tag) else None


def start_request(connector_id: Any, id_tag: Any, meter_start: Any, timestamp: Any) -> StartRequest:
    connector = number(connector_id, "connectorId")
    if connector != connector.to_integral_value() or connector < 1:
        raise BadOcpp(f"connectorId must be a connector (1 or more), not {connector_id!r}")
    if not isinstance(id_tag, str) or not 0 < len(id_tag) <= MAX_ID_TAG:
        raise BadOcpp(f"idTag must be 1 to {MAX_ID_TAG} characters")
    return StartRequest(int(connector), id_tag, _register(meter_start, "meterStart"),
                        utc(timestamp, "timestamp"))


def stop_request(transaction_id: Any, meter_stop: Any, timestamp: Any, reason: Any = None,
                 id_tag: Any = None, transaction_data: Any = None) -> StopRequest:
    tid = number(transaction_id, "transactionId")
    if tid != tid.to_integral_value():
        raise BadOcpp(f"transactionId must be an integer, not {transaction_id!r}")
    reason = reason or "Local"
    if reason not in REASONS:
        raise BadOcpp(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    first, _ = begin_and_end(transaction_data)
    return StopRequest(int(tid), _register(meter_stop, "meterStop"), utc(timestamp, "timestamp"),
                       reason, id_tag if isinstance(id_tag, str) else None, first)


def _register(value: Any, name: str) -> Decimal:
    reading = number(value, name)
    if reading < 0:
        raise BadOcpp(f"{name} is a meter register reading, never negative: {value!r}")
    return reading


def start(cp_id: str, request: StartRequest, existing: Transaction | None, price: str,
          driver_known: bool, authorization: tuple[str, str | None] | None,
          new_session_id: str) -> tuple[Transaction, bool]:
    """The transaction a StartTransaction belongs to, and whether it is new.
    ``existing``: the transaction with the same :func:`start_key`, if any;
    ``authorization``: (session id, driver id) of Central's authorization waiting at
    the CP, if any; it is this transaction's when the idTag is its driver."""
    if existing is not None:
        return existing, False
    session_id, price_due = new_session_id, price
    if authorization is not None and authorization[1] == request.id_tag:
        session_id = authorization[0]
    return Transaction(0, cp_id, request.connector_id, request.id_tag, request.meter_start_wh,
                       request.timestamp, session_id, driver_id(request.id_tag, driver_known),
                       price_due), True


def started(transaction: Transaction) -> m.SupplyStarted:
    """The supply's start record (the fleet dedupes it by session id)."""
    return m.SupplyStarted(cp_id=transaction.cp_id, session_id=transaction.session_id,
                           started_at=transaction.started_at,
                           price_eur_kwh=transaction.price_eur_kwh,
                           driver_id=transaction.driver_id)


def unknown_session(cp_id: str, transaction_id: int) -> str:
    """The session of a StopTransaction Central has no start for: the same every time."""
    return str(uuid.uuid5(UNKNOWN, f"{cp_id}/{transaction_id}"))


def ending(cp_id: str, request: StopRequest, transaction: Transaction | None, price: str,
           driver_known: bool, remote_reason: str | None = None) -> m.SupplyEnded:
    """The supply's final, billed record.  ``transaction``: this CP's transaction with
    the request's id, or None; ``price``: the CP's price (for an unknown one);
    ``remote_reason``: why Central asked for the stop (a Remote stop is told so)."""
    reason = REASONS[request.reason]
    if request.reason == "Remote" and remote_reason:
        reason = remote_reason
    if transaction is not None:
        return _ended(transaction, request.meter_stop_wh, request.timestamp, reason)
    first = request.first
    started_at = first.timestamp if first is not None else request.timestamp
    if first is not None:
        kwh = max(request.meter_stop_wh / WH_PER_KWH - first.register_kwh, Decimal(0))
        how = "billed from its first meter value"
    else:
        kwh, how = Decimal(0), "no start reading: 0 kWh"
    kwh, eur = billed(kwh, Decimal(price))
    return m.SupplyEnded(
        cp_id=cp_id, session_id=unknown_session(cp_id, request.transaction_id),
        started_at=started_at, ended_at=request.timestamp, kwh=str(kwh), eur=str(eur),
        price_eur_kwh=price,
        reason=f"{reason} (unknown transaction {request.transaction_id}, {how})",
        driver_id=driver_id(request.id_tag, driver_known))


def superseded(open_ones: list[Transaction],
               new: Transaction) -> list[tuple[Transaction, m.SupplyEnded]]:
    """Each transaction still open on ``new``'s connector that started before it, with
    its final record: a connector serves one transaction at a time, so it is over.  The
    register at ``new``'s start ends it (all the connector metered since, which was that
    transaction's), at ``new``'s start time.  One started later (a charger's queue sent
    out of order) is left open for its own StopTransaction."""
    return [(t, _ended(t, new.meter_start_wh, new.started_at,
                       f"ended by transaction {new.transaction_id} on connector "
                       f"{new.connector_id} (its StopTransaction never came)"))
            for t in open_ones
            if t.transaction_id != new.transaction_id and t.connector_id == new.connector_id
            and t.stopped_at is None and t.started_at < new.started_at]


def _ended(transaction: Transaction, meter_stop_wh: Decimal, at: str,
           reason: str) -> m.SupplyEnded:
    kwh, eur = billed(_energy(transaction.meter_start_wh, meter_stop_wh),
                      Decimal(transaction.price_eur_kwh))
    return m.SupplyEnded(
        cp_id=transaction.cp_id, session_id=transaction.session_id,
        started_at=transaction.started_at, ended_at=at, kwh=str(kwh), eur=str(eur),
        price_eur_kwh=transaction.price_eur_kwh, reason=reason,
        driver_id=transaction.driver_id)


def _energy(start_wh: Decimal, stop_wh: Decimal) -> Decimal:
    """kWh between two register readings (a register that went back bills nothing)."""
    return max(stop_wh - start_wh, Decimal(0)) / WH_PER_KWH


def progress(transaction: Transaction, reading: Sample) -> Telemetry:
    """Live figures of a transaction under way from one meter value: kWh since its start
    (by the register), EUR at its price, kW as the charger measured it (0 if not)."""
    kwh = max(reading.register_kwh - transaction.meter_start_wh / WH_PER_KWH, Decimal(0))
    kwh, eur = billed(kwh, Decimal(transaction.price_eur_kwh))
    kw = reading.kw if reading.kw is not None and reading.kw >= 0 else Decimal(0)
    return Telemetry(cp_id=transaction.cp_id, session_id=transaction.session_id,
                     kw=str(kw.quantize(Decimal("0.001"))), kwh=str(kwh), eur=str(eur),
                     price_eur_kwh=transaction.price_eur_kwh, driver_id=transaction.driver_id)
