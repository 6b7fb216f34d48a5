"""The driver's requests that Central has not answered yet, by ``id``.

A request is sent again, with the same id, when Central has not answered it within
:data:`RETRY_S`: Central handles a request once by its id, so a retry never asks for a
second supply.  While the producer has not delivered a request, Kafka is to blame and
the request stays in the producer's queue; once delivered, Central is.  Pure: time is
passed in, and the methods return effects for the shell.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from protocol import driver as d

from .effects import Cause, Retrying, Send

RETRY_S = 10.0  # a request not answered within this is sent again, same id


class Purpose(StrEnum):
    """Why a request was sent, which decides what its answer shows."""

    START = "start"  # the status asked for when the app starts
    CHARGE = "charge"
    STOP = "stop"
    LIST = "list"
    STATUS = "status"
    HISTORY = "history"
    CHECK = "check"  # the status asked for when a supply went quiet


@dataclass
class OutstandingRequest:
    """A request sent to Central and not answered yet."""

    message: d.DriverMessage
    purpose: Purpose
    sent_at: float
    delivered: bool | None = None  # None: still in the producer's queue


class OutstandingRequests:
    def __init__(self) -> None:
        self._by_id: dict[str, OutstandingRequest] = {}

    def add(self, message: d.DriverMessage, purpose: Purpose, now: float) -> list:
        self._by_id[message.id] = OutstandingRequest(message, purpose, now)
        return [Send(message)]

    def answered(self, ref: str) -> OutstandingRequest | None:
        """The request an update answers (no longer outstanding), None if none is."""
        return self._by_id.pop(ref, None)

    def of(self, purpose: Purpose) -> OutstandingRequest | None:
        return next((r for r in self._by_id.values() if r.purpose == purpose), None)

    def drop(self, purpose: Purpose) -> None:
        """Forget the requests sent for ``purpose`` (what they asked for is over)."""
        for key in [k for k, r in self._by_id.items() if r.purpose == purpose]:
            del self._by_id[key]

    def delivered(self, message_id: str, ok: bool, now: float) -> list:
        """The producer's report on a request: delivered, or not (then send it again)."""
        request = self._by_id.get(message_id)
        if request is None:
            return []
        if ok:
            request.delivered = True
            return []
        request.sent_at, request.delivered = now, None
        return [Retrying(Cause.KAFKA), Send(request.message, retry=True)]

    def due(self, now: float) -> list:
        """Send again what Central left unanswered for :data:`RETRY_S`."""
        effects: list = []
        for request in self._by_id.values():
            if now - request.sent_at < RETRY_S:
                continue
            request.sent_at = now
            if request.delivered is None:  # still in the producer's queue
                effects.append(Retrying(Cause.KAFKA))
                continue
            request.delivered = None
            effects += [Retrying(Cause.CENTRAL), Send(request.message, retry=True)]
        return effects

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._by_id

    def __iter__(self) -> Iterator[OutstandingRequest]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)
