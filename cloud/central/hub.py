"""Change events for the dashboard, the recent application messages, Kafka's status
(the dashboard's degraded banner) and the fleet's power over the last hour.

Every subscriber gets a bounded queue of ``{"event": ..., "data": ...}`` dicts; a slow
consumer loses its oldest events rather than ever blocking the CP server.  Callers
hold the fleet's lock, which keeps publication in order.
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cloud.central.power import PowerHistory, fleet_kw

log = logging.getLogger("cloud.central.fleet")

QUEUE_SIZE = 1000
MESSAGES_KEPT = 500
LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class Hub:
    def __init__(self, wallclock: Callable[[], str]) -> None:
        self.wallclock = wallclock
        self._subscribers: list[queue.Queue] = []
        self._messages: deque[dict[str, Any]] = deque(maxlen=MESSAGES_KEPT)
        self._kafka: dict[str, Any] | None = None  # {"up", "address", "text"} with Kafka
        self._power = PowerHistory()

    def subscribe(self, maxsize: int = QUEUE_SIZE) -> queue.Queue:
        subscription: queue.Queue = queue.Queue(maxsize=maxsize)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: queue.Queue) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def publish(self, event: str, data: Any) -> None:
        item = {"event": event, "data": data}
        for subscription in list(self._subscribers):
            while True:
                try:
                    subscription.put_nowait(item)
                    break
                except queue.Full:
                    try:
                        subscription.get_nowait()  # drop the oldest
                    except queue.Empty:
                        pass

    def note(self, level: str, cp_id: str | None, text: str) -> None:
        """An application message: logged once, kept, published."""
        log.log(LEVELS[level], "%s%s", f"{cp_id}: " if cp_id else "", text)
        message = {"ts": self.wallclock(), "level": level, "cp_id": cp_id, "text": text}
        self._messages.append(message)
        self.publish("message", message)

    def messages(self, limit: int = 50) -> list[dict[str, Any]]:
        """The last ``limit`` messages, oldest first."""
        if limit <= 0:
            return []
        return [dict(x) for x in list(self._messages)[-limit:]]

    def kafka(self) -> dict[str, Any] | None:
        """None without Kafka, else ``{"up", "address", "text"}``."""
        return dict(self._kafka) if self._kafka is not None else None

    def set_kafka(self, up: bool, address: str) -> None:
        """Kafka reachable or not: a message and a ``kafka`` event when that changes."""
        text = "" if up else (f"Kafka unreachable at {address}: live telemetry and "
                              "driver requests paused")
        status = {"up": up, "address": address, "text": text}
        if status == self._kafka:
            return
        self._kafka = status
        if up:
            self.note("info", None, f"Kafka reachable at {address}")
        else:
            self.note("warning", None, f"cannot reach Kafka at {address}, retrying")
        self.publish("kafka", dict(status))

    def power(self, now: float) -> dict[str, Any]:
        """The fleet's total kW over the last hour: ``{span, step, now, points}``."""
        return self._power.as_json(now)

    def sample_power(self, now: float, views: Iterable[Mapping[str, Any]]) -> None:
        """Keep one sample of the CPs' total kW every few seconds; publish it as a
        ``power`` event."""
        if self._power.due(now):
            point = self._power.add(now, fleet_kw(views))
            self.publish("power", point.as_json())
