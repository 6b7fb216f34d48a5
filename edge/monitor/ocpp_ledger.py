"""The supplies the charge point reports as OCPP transactions: pure bookkeeping.

A supply's ``SupplyStarted`` record becomes a StartTransaction, its ``SupplyEnded`` a
StopTransaction, each exactly once per session however often the engine sends the
record.  The meter readings are a register in Wh that only grows: a supply starts at
the register, stops at start + its energy (the journal's kWh, to the Wh), and the next
one starts there.  MeterValues and StopTransaction carry the transaction id the central
system gave the StartTransaction; they are queued before it is known and get it when
they are sent (:meth:`Ledger.outgoing`).  The shell keeps the ledger and the queue in
SQLite (:mod:`edge.monitor.ocpp_store`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ocpp.v16 import call

from protocol import messages as m

CONNECTOR = 1
ID_TAG = 20  # OCPP 1.6's IdToken is a CiString20Type
# Why a supply ended, as the engine says it, and OCPP's Reason for it.
REASONS = {
    "unplugged": "EVDisconnected", "stopped by driver": "Local", "fault": "EmergencyStop",
    "stopped by Central": "Remote", "stopped by the central system": "Remote",
    "soft reset": "SoftReset", "hard reset": "HardReset", "engine restarted": "PowerLoss",
    "engine stopped": "Reboot", "key revoked": "DeAuthorized",
}


@dataclass
class Supply:
    """One supply as reported: where its register started, its transaction id once the
    central system gave one, whether its StopTransaction is queued."""

    session_id: str
    id_tag: str
    meter_start: int
    transaction_id: int | None = None
    ended: bool = False


@dataclass(frozen=True)
class Transaction:
    """A queued transaction message: ``request`` is an ``ocpp.v16.call`` payload (its
    ``transaction_id`` filled in when it is sent); ``seq`` is its place in the queue."""

    session_id: str
    request: Any
    seq: int = 0
    attempts: int = 0

    @property
    def action(self) -> str:
        return type(self.request).__name__

    def payload(self) -> dict:
        return dataclasses.asdict(self.request)

    @classmethod
    def load(cls, session_id: str, action: str, payload: dict, seq: int,
             attempts: int) -> Transaction:
        if action not in ("StartTransaction", "MeterValues", "StopTransaction"):
            raise ValueError(f"not a transaction message: {action}")
        return cls(session_id, getattr(call, action)(**payload), seq, attempts)


def wh(kwh: Decimal | str) -> int:
    return int((Decimal(kwh) * 1000).to_integral_value(ROUND_HALF_UP))


def meter_value(at: str, meter_start: int, kwh: Decimal, kw: Decimal, context: str) -> dict:
    """One MeterValue: the energy register (Wh) and the power (W)."""
    return {"timestamp": at, "sampled_value": [
        {"value": str(meter_start + wh(kwh)), "context": context,
         "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(wh(kw)), "context": context, "measurand": "Power.Active.Import",
         "unit": "W"},
    ]}


class Ledger:
    def __init__(self, supplies: list[Supply] | None = None, register_wh: int = 0) -> None:
        self.supplies = {supply.session_id: supply for supply in supplies or []}
        self.register_wh = register_wh

    def record(self, record: m.SupplyStarted | m.SupplyEnded) -> list[Transaction]:
        """The transaction messages a journal record adds (none when already queued)."""
        supply = self.supplies.get(record.session_id)
        out: list[Transaction] = []
        if supply is None:  # a start, or an end whose start this monitor never saw
            tag = m.driver_or_ad_hoc(record.driver_id)[:ID_TAG]  # never refused for it
            supply = Supply(record.session_id, tag, self.register_wh)
            self.supplies[record.session_id] = supply
            out.append(Transaction(record.session_id, call.StartTransaction(
                connector_id=CONNECTOR, id_tag=tag, meter_start=supply.meter_start,
                timestamp=record.started_at)))
        if isinstance(record, m.SupplyEnded) and not supply.ended:
            supply.ended = True
            meter_stop = supply.meter_start + wh(record.kwh)
            self.register_wh = max(self.register_wh, meter_stop)
            out.append(Transaction(record.session_id, call.StopTransaction(
                meter_stop=meter_stop, timestamp=record.ended_at, transaction_id=0,
                reason=REASONS.get(record.reason, "Other"), id_tag=supply.id_tag)))
        return out

    def meter_values(self, session_id: str, values: list[dict]) -> Transaction:
        return Transaction(session_id, call.MeterValues(
            connector_id=CONNECTOR, meter_value=values, transaction_id=0))

    def started(self, session_id: str, transaction_id: int) -> None:
        supply = self.supplies.get(session_id)
        if supply is not None:
            supply.transaction_id = transaction_id

    def transaction_id(self, session_id: str) -> int | None:
        supply = self.supplies.get(session_id)
        return supply and supply.transaction_id

    def open_supply(self, session_id: str) -> Supply | None:
        supply = self.supplies.get(session_id)
        return supply if supply is not None and not supply.ended else None

    def outgoing(self, transaction: Transaction) -> Any | None:
        """The request to send for a queued message; None when it cannot be sent (its
        StartTransaction was given up, so there is no transaction id to name)."""
        request = transaction.request
        if isinstance(request, call.StartTransaction):
            return request
        tid = self.transaction_id(transaction.session_id)
        if tid is None:
            return None
        return dataclasses.replace(request, transaction_id=tid)
