"""The fleet's :class:`~cloud.central.ports.CpPort` over OCPP 1.6J calls.

Every method returns at once (it may be called from any thread, under the fleet's lock,
even from a handler on the OCPP loop): it schedules one call on the charger's
connection, whose answer is read by the same loop; ``ocpp`` sends one call at a time per
connection (its lock, in the order they were scheduled), and a call that gets no answer
within the response timeout fails alone (:meth:`OcppPort.send`), it never wedges the
connection.  What the charger answers goes back to the fleet as a command result.

- ``authorize`` -> RemoteStartTransaction(idTag = the driver id, connectorId = 1);
- ``end_supply`` -> RemoteStopTransaction(the session's transaction id);
- ``stop`` / ``resume`` (admin, weather alert, revoked key) -> ChangeAvailability of the
  whole charger (connector 0) Inoperative / Operative; a stop ends a transaction under
  way first (RemoteStopTransaction), as a stop ends a framed CP's supply at once (a
  weather alert's stop is only sent once the supply has ended: the core waits);
- ``revoke_key`` and ``disconnect`` close the connection: an OCPP charger has no per-CP
  sealing key (its messages are protected by TLS in security profile 2, and it proves its
  password at every connection), so revoking its key drops its connection, and the fleet
  keeps it out of service until it authenticates again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ocpp.v16 import call
from ocpp.v16.enums import AvailabilityType

from cloud.central.ocpp.core import CHARGE_POINT, CONNECTOR

log = logging.getLogger(__name__)

ACCEPTED = ("Accepted", "Scheduled")  # ChangeAvailability's Scheduled: after the transaction


class OcppPort:
    def __init__(self, charger, loop: asyncio.AbstractEventLoop) -> None:
        self.charger = charger  # a cloud.central.ocpp.charge_point.Charger
        self.cp_id = charger.id
        self.loop = loop
        self.fleet = charger.fleet
        self.records = charger.records
        self.remote_reasons: dict[int, str] = {}  # why Central asked for a stop

    # -- CpPort ----------------------------------------------------------------------
    def authorize(self, session_id: str, driver_id: str | None, price_eur_kwh: str) -> None:
        if not driver_id:
            self._result("authorize", session_id, False, "an OCPP charger needs an idTag")
            return
        self.send(call.RemoteStartTransaction(id_tag=driver_id, connector_id=CONNECTOR),
                  lambda answer: self._result("authorize", session_id,
                                              answer.status == "Accepted", answer.status),
                  lambda why: self._result("authorize", session_id, False, why))

    def end_supply(self, session_id: str, driver_id: str | None, reason: str) -> None:
        transaction = self.records.of_session(session_id)
        if transaction is None or transaction.stopped_at is not None:
            return  # not started (the core cancels an authorization) or over already
        self._remote_stop(transaction.transaction_id, reason, session_id)

    def stop(self, reason: str) -> None:
        transaction = self.records.open_at(self.cp_id)
        if transaction is not None:
            self._remote_stop(transaction.transaction_id, reason, transaction.session_id)
        self._availability(AvailabilityType.inoperative, "stop")

    def resume(self, reason: str) -> None:
        self._availability(AvailabilityType.operative, "resume")

    def revoke_key(self, reason: str) -> None:
        self.disconnect(reason)

    def disconnect(self, reason: str) -> None:
        self.loop.call_soon_threadsafe(self._close, reason)

    # -- the calls -------------------------------------------------------------------
    def send(self, payload: Any, answered: Callable[[Any], None] | None = None,
             failed: Callable[[str], None] | None = None) -> None:
        """Schedule one call; ``answered(result)`` or ``failed(why)`` runs on the loop."""
        self.loop.call_soon_threadsafe(self._spawn, payload, answered, failed)

    def _spawn(self, payload, answered, failed) -> None:
        task = self.loop.create_task(self._call(payload, answered, failed))
        self.charger.tasks.add(task)
        task.add_done_callback(self.charger.tasks.discard)

    async def _call(self, payload, answered, failed) -> None:
        action = type(payload).__name__
        try:
            answer = await self.charger.call(payload, suppress=False)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            why = f"{action}: no answer within {self.charger.response_timeout} s"
        except Exception as error:  # noqa: BLE001 - a CallError, a closed connection...
            why = f"{action}: {type(error).__name__}: {error}"[:200]
        else:
            if answered is not None:
                answered(answer)
            return
        log.warning("%s: %s", self.cp_id, why)
        if failed is not None:
            failed(why)

    def _remote_stop(self, transaction_id: int, reason: str, session_id: str) -> None:
        self.remote_reasons[transaction_id] = reason
        self.send(call.RemoteStopTransaction(transaction_id=transaction_id),
                  lambda answer: self._result("end_supply", session_id,
                                              answer.status == "Accepted", answer.status))

    def _availability(self, kind: AvailabilityType, action: str) -> None:
        self.send(call.ChangeAvailability(connector_id=CHARGE_POINT, type=kind),
                  lambda answer: self._result(action, None, answer.status in ACCEPTED,
                                              answer.status),
                  lambda why: self._result(action, None, False, why))

    def _result(self, action: str, session_id: str | None, ok: bool, reason: str) -> None:
        self.fleet.on_command_result(self.cp_id, action, session_id, ok,
                                     "" if ok else reason)

    def _close(self, reason: str) -> None:
        self.charger.close(reason)
