"""Topic names: what the data plane (MQTT -> Kafka) and the driver plane use.

MQTT (one subtree per CP; the broker's ACL lets a CP's user write only its own)::

    evcharging/cp/<cp_id>/events      state changes, supply start/end records, buttons
    evcharging/cp/<cp_id>/telemetry   per-second kW, kWh, EUR during a supply
    evcharging/cp/<cp_id>/status      retained; last will "offline"

Kafka (key in brackets): ``cp.events`` [cp_id], ``cp.telemetry`` [cp_id],
``driver.requests`` [driver_id], ``driver.updates`` [driver_id], ``deadletter``.
"""

from __future__ import annotations

import re

CP_EVENTS = "cp.events"
CP_TELEMETRY = "cp.telemetry"
DRIVER_REQUESTS = "driver.requests"
DRIVER_UPDATES = "driver.updates"
DEADLETTER = "deadletter"
KAFKA_TOPICS = (CP_EVENTS, CP_TELEMETRY, DRIVER_REQUESTS, DRIVER_UPDATES, DEADLETTER)
PARTITIONS = 6

MQTT_ROOT = "evcharging/cp"
MQTT_KINDS = ("events", "telemetry", "status")
SHARE_GROUP = "bridges"  # MQTT shared subscription group of the bridges
_MQTT_TOPIC = re.compile(r"^evcharging/cp/([^/+#]{1,64})/(events|telemetry|status)$")

# where the bridge relays each MQTT kind
KAFKA_FOR = {"events": CP_EVENTS, "status": CP_EVENTS, "telemetry": CP_TELEMETRY}


def mqtt_topic(cp_id: str, kind: str) -> str:
    if kind not in MQTT_KINDS:
        raise ValueError(f"unknown MQTT topic kind {kind!r}")
    return f"{MQTT_ROOT}/{cp_id}/{kind}"


def mqtt_subscription(shared: bool = True) -> str:
    """What a bridge subscribes to: every CP's topics, shared among the bridges."""
    topic = f"{MQTT_ROOT}/+/+"
    return f"$share/{SHARE_GROUP}/{topic}" if shared else topic


def parse_mqtt_topic(topic: str) -> tuple[str, str] | None:
    """``evcharging/cp/<id>/<kind>`` -> ``(cp_id, kind)``; None if it is not one of ours."""
    found = _MQTT_TOPIC.match(topic)
    return (found.group(1), found.group(2)) if found else None
