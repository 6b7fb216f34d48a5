"""The MQTT shell and the wiring: paho receives, :func:`route` decides, Kafka confirms,
then the MQTT message is acknowledged.

- MQTT 3.1.1 persistent session (``clean_session=False``, a stable client id): what CPs
  publish while the bridge is down is queued by the broker and delivered on return.
- Manual acks: a PUBACK goes out only after Kafka's delivery report for the record (or
  for its dead letter).  Acks are tagged with the connection they came from; a record
  confirmed after that connection was lost is not acked (the broker redelivers it on
  the new connection and it is relayed again: at least once, consumers dedupe by id).
- ``Client.ack`` is called from the Kafka thread: with ``loop_start`` it only appends
  the PUBACK to paho's outgoing deque and wakes the loop thread, which writes it.
- Shared subscription ``$share/bridges/...``: several bridges with different client ids
  share the load.  The broker queues a dead bridge's share until it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable

import paho.mqtt.client as paho

from bridge.relay import Relayer
from bridge.route import DeadLetter, dead_letter_record, route
from bridge.watch import KafkaWatch
from protocol.messages import utc_now
from protocol.topics import mqtt_subscription

log = logging.getLogger(__name__)

DEAD_LETTER_LOGS, DEAD_LETTER_WINDOW = 10, 10.0  # lines per window; counters say the rest


class Bridge:
    def __init__(self, mqtt: tuple[str, int], kafka: str, client_id: str,
                 username: str | None = None, password: str | None = None,
                 shared: bool = False, max_in_flight: int = 2000) -> None:
        self.mqtt_address = f"{mqtt[0]}:{mqtt[1]}"
        self._mqtt = mqtt
        self.subscription = mqtt_subscription(shared)
        self._generation = 0  # bumped on every MQTT connect; acks carry it
        self._stopping = threading.Event()
        self._mqtt_down = False
        self._dead_logs = (0.0, 0)  # (window start, lines logged in it)
        self.watch = KafkaWatch(kafka, on_change=self._kafka_changed)
        self.relayer = Relayer(kafka, on_delivered=self._ack, is_live=self._live,
                               on_missing_topic=self.watch.wake, max_in_flight=max_in_flight)
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=False, protocol=paho.MQTTv311)
        client.manual_ack_set(True)
        if username:
            client.username_pw_set(username, password)
        client.reconnect_delay_set(1, 5)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client

    def start(self) -> Bridge:
        self.watch.start()
        self.relayer.start()
        self.client.connect_async(*self._mqtt, keepalive=30)
        self.client.loop_start()
        return self

    def snapshot(self) -> dict[str, int]:
        return self.relayer.counters.snapshot()

    # -- MQTT callbacks (paho's loop thread) --------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("MQTT broker at %s refused the connection: %s, retrying",
                      self.mqtt_address, reason)
            self._mqtt_down = True
            return
        self._generation += 1
        self._mqtt_down = False
        client.subscribe(self.subscription, qos=1)
        log.info("connected to MQTT broker at %s (session %s)", self.mqtt_address,
                 "resumed" if flags.session_present else "new")

    def _on_connect_fail(self, client, userdata) -> None:
        if not self._mqtt_down:
            log.warning("cannot reach MQTT broker at %s, retrying", self.mqtt_address)
            self._mqtt_down = True

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        if self._stopping.is_set() or self._mqtt_down:
            return
        log.warning("cannot reach MQTT broker at %s (%s), retrying", self.mqtt_address, reason)
        self._mqtt_down = True

    def _on_subscribe(self, client, userdata, mid, reasons, properties) -> None:
        if any(r.is_failure for r in reasons):
            log.error("MQTT broker at %s refused the subscription to %s",
                      self.mqtt_address, self.subscription)
        else:
            log.info("subscribed to %s", self.subscription)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # left unacknowledged: the broker delivers it again next session
        try:
            self._relay(message)
        except Exception:  # a bug must not stop paho's thread: keep the message unacked
            log.exception("could not relay a message on %r", message._topic[:100])

    def _relay(self, message: paho.MQTTMessage) -> None:
        topic = message._topic.decode("utf-8", "replace")  # .topic raises on bad UTF-8
        payload = message.payload
        decision = route(topic, payload)
        if isinstance(decision, DeadLetter):
            self._log_dead_letter(topic, decision.reason)
            decision = dead_letter_record(decision, topic, payload, utc_now())
        self.relayer.submit(decision, (self._generation, message.mid, message.qos))

    def _log_dead_letter(self, topic: str, reason: str) -> None:
        start, count = self._dead_logs
        now = time.monotonic()
        if now - start > DEAD_LETTER_WINDOW:
            start, count = now, 0
        if count < DEAD_LETTER_LOGS:
            log.warning("dead letter from %s: %s", topic[:100], reason[:200])
        self._dead_logs = (start, count + 1)

    # -- Kafka side ------------------------------------------------------------------
    def _live(self, token: Hashable) -> bool:
        return token[0] == self._generation and not self._stopping.is_set()

    def _ack(self, token: Hashable) -> None:
        generation, mid, qos = token
        if generation == self._generation and qos > 0:
            self.client.ack(mid, qos)

    def _kafka_changed(self, up: bool) -> None:
        self.relayer.counters.kafka_up = up

    # -- shutdown ----------------------------------------------------------------------
    def stop(self, flush: float = 5.0) -> int:
        """Take no new message, let Kafka confirm for up to ``flush`` s, ack, disconnect."""
        self._stopping.set()
        left = self.relayer.stop(flush)
        self.watch.stop()
        done = threading.Event()
        self.client.on_disconnect = lambda *args: done.set()
        self.client.disconnect()  # queued after the acks, so they are written first
        done.wait(2)
        self.client.loop_stop()
        return left
