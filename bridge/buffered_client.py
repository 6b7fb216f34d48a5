"""paho-mqtt's client, reading many MQTT packets per ``recv`` (the bridge's hot path)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.exception import MalformedPacket

RECV_SIZE = 256 * 1024  # bytes asked of the socket per read
PUBACK = struct.Struct("!BBH")


class BufferedClient(paho.Client):
    """paho's client reading through a buffer.

    paho asks the socket for one byte (the packet type), one byte at a time for the
    remaining length, then the rest: three ``recv`` calls per message, and its
    ``loop_read`` handles one packet per ``select``.  Here one ``recv`` fills a buffer
    that serves many packets; :meth:`buffered` tells the I/O loop to read on without
    waiting in ``select``.  paho's packet parsing and state machine are unchanged.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._rbuf = b""
        self._rpos = 0
        #: ``(topic: bytes, payload: bytes, mid, qos)`` for each QoS 0/1 PUBLISH, instead
        #: of ``on_message``
        self.on_publish_received: Callable[[bytes, bytes, int, int], None] | None = None
        super().__init__(*args, **kwargs)

    def buffered(self) -> bool:
        return self._rpos < len(self._rbuf)

    def _sock_recv(self, bufsize: int) -> bytes:
        pos = self._rpos
        if pos >= len(self._rbuf):
            data = super()._sock_recv(RECV_SIZE)
            if len(data) <= bufsize:
                self._rbuf, self._rpos = b"", 0
                return data
            self._rbuf, pos = data, 0
        end = pos + bufsize
        self._rpos = end
        return self._rbuf[pos:end]

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()

    def _handle_publish(self) -> paho.MQTTErrorCode:
        """MQTT 3.1.1 QoS 0/1 PUBLISH straight to :attr:`on_publish_received`: the same
        fields paho decodes, without building an ``MQTTMessage`` (and its Condition) or
        matching per-topic callbacks.  Anything else goes through paho."""
        handler = self.on_publish_received
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if handler is None or qos == 2 or self._protocol == paho.MQTTv5:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        end = 2 + ((packet[0] << 8) | packet[1]) if len(packet) >= 2 else len(packet) + 1
        mid_end = end + 2 if qos else end
        if end == 2 or mid_end > len(packet):
            raise MalformedPacket("PUBLISH too short or with an empty topic")
        mid = (packet[end] << 8) | packet[end + 1] if qos else 0
        handler(bytes(packet[2:end]), bytes(packet[mid_end:]), mid, qos)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS

    def queue_pubacks(self, mids: list[int]) -> None:
        """PUBACKs for ``mids`` as one write (the same bytes as one ``ack`` each)."""
        pack = PUBACK.pack
        self._packet_queue(paho.PUBACK, b"".join([pack(paho.PUBACK, 2, mid) for mid in mids]),
                           0, 0)
