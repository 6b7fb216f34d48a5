"""What the charge point does with the central system's answers: to its calls
(:meth:`CentralSystemAnswers.answered`: BootNotification, Authorize, ...) and to the head
of its transaction queue (:meth:`~CentralSystemAnswers.delivered`, or
:meth:`~CentralSystemAnswers.undelivered` for a CallError).  A part of
:class:`~edge.monitor.ocpp_core.OcppCore` (its state is the core's); no I/O, no clock."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from edge.engine.clock import Now
from protocol import messages as m
from runtime.routing import Routes

from .core import ToEngine
from .ocpp_actions import Action, Call, Delivered, Note
from .ocpp_config import ACCEPTED
from .ocpp_ledger import Transaction
from .ocpp_requests import CENTRAL_SYSTEM

ANSWERS = Routes("answer to a call of the charge point")
BOOT_RETRY_S = 10


class CentralSystemAnswers:
    def answered(self, now: Now, sent: Call, result: Any) -> list[Action]:
        """The answer to a :class:`Call` (a ``call_result``); None: no answer (a timeout,
        a CallError or the link lost)."""
        return ANSWERS.handler(type(sent.request))(self, now, sent, result) + self._status(now)

    @ANSWERS.on(call.BootNotification)
    def _booted(self, now: Now, sent: Call, result: Any) -> list[Action]:
        if not self.connected:
            return []
        if result is None or result.status != ACCEPTED:
            wait = (result.interval if result is not None else 0) or BOOT_RETRY_S
            self._next_boot = now.mono + wait
            verdict = result.status if result is not None else "no answer"
            return [Note(f"BootNotification {verdict}: again in {wait} s", "warning")]
        self.accepted = True
        if result.interval > 0:
            self.config.values["HeartbeatInterval"] = str(result.interval)
        self._next_heartbeat = now.mono + self.config.seconds("HeartbeatInterval")
        out: list[Action] = [Note(f"{CENTRAL_SYSTEM} accepted us: heartbeat every "
                                  f"{self.config.seconds('HeartbeatInterval')} s")]
        return out + ([ToEngine(self._central_status())] if self.engine_up else [])

    @ANSWERS.on(call.Authorize)
    def _authorized(self, now: Now, sent: Call, result: Any) -> list[Action]:
        request = self._requests.pop(sent.ref, None)
        if request is None:
            return []
        status = result.id_tag_info["status"] if result is not None else "no answer"
        if status != ACCEPTED:
            return [ToEngine(self._denied(request, f"id tag {status}"))]
        return [ToEngine(self._command(now, m.Action.AUTHORIZE, driver_id=request.driver_id,
                                       session_id=m.new_id()))]

    @ANSWERS.on(call.Heartbeat, call.StatusNotification, call.MeterValues)
    def _noted(self, now: Now, sent: Call, result: Any) -> list[Action]:
        return []

    def delivered(self, now: Now, transaction: Transaction, result: Any) -> list[Action]:
        """The central system answered the queue's head (a ``call_result``)."""
        tid = None
        out: list[Action] = []
        if isinstance(transaction.request, call.StartTransaction):
            tid = result.transaction_id
            self.ledger.started(transaction.session_id, tid)
            status = result.id_tag_info["status"]
            if status != ACCEPTED and self.health.session_id == transaction.session_id:
                out.append(ToEngine(self._command(
                    now, m.Action.END_SUPPLY, session_id=transaction.session_id,
                    reason=f"id tag {status}")))
        return [Delivered(transaction.seq, transaction.session_id, tid), *out]

    def undelivered(self, now: Now, transaction: Transaction, error: str) -> list[Action]:
        """The central system answered the head with a CallError: retried
        ``TransactionMessageAttempts`` times, then given up (OCPP 1.6 section 4.10)."""
        attempts = self.config.seconds("TransactionMessageAttempts")
        if transaction.attempts + 1 < attempts:
            return [Note(f"{transaction.action} of supply {transaction.session_id} refused "
                         f"({error}): trying again", "warning")]
        return [Note(f"{transaction.action} of supply {transaction.session_id} refused "
                     f"{attempts} times ({error}): given up", "error"),
                Delivered(transaction.seq, transaction.session_id)]
