"""The bridge's routing table: every payload either relays unchanged or dead-letters."""

import base64
import json

import pytest

from bridge.route import MAX_PAYLOAD, DeadLetter, Relay, dead_letter_record, route
from protocol import data
from protocol.messages import SupplyEnded, encode

TS = "2026-01-01T00:00:00.000Z"
EVENT = encode(data.StateChanged(cp_id="CP1", state="available", health="OK"))
TELEMETRY = encode(data.Telemetry(cp_id="CP1", session_id="s1", kw="7.4", kwh="1.2",
                                  eur="0.5", price_eur_kwh="0.4"))
STATUS = encode(data.CpStatus(cp_id="CP1", status="online"))
ENDED = encode(SupplyEnded(cp_id="CP1", session_id="s1", started_at=TS, ended_at=TS,
                           kwh="1", eur="0.4", price_eur_kwh="0.4", reason="done"))


@pytest.mark.parametrize("topic, payload, kafka_topic", [
    ("evcharging/cp/CP1/events", EVENT, "cp.events"),
    ("evcharging/cp/CP1/events", ENDED, "cp.events"),
    ("evcharging/cp/CP1/telemetry", TELEMETRY, "cp.telemetry"),
    ("evcharging/cp/CP1/status", STATUS, "cp.events"),
])
def test_valid_messages_relay_unchanged_keyed_by_cp(topic, payload, kafka_topic):
    assert route(topic, payload) == Relay(kafka_topic, "CP1", payload)


@pytest.mark.parametrize("topic, payload, key, reason", [
    ("evcharging/cp/CP1/other", EVENT, None, "is not evcharging/cp/<cp_id>/<kind>"),
    ("evcharging/cp/CP1/events/x", EVENT, None, "is not evcharging/cp/<cp_id>/<kind>"),
    ("evcharging/cp/" + "x" * 65 + "/events", EVENT, None, "is not evcharging"),
    ("evcharging/cp/CP1/events", b"{not json", "CP1", "invalid JSON"),
    ("evcharging/cp/CP1/events", b"\xff\xfe\x00", "CP1", "invalid JSON"),
    ("evcharging/cp/CP1/events", b"[1, 2]", "CP1", "must be a JSON object"),
    ("evcharging/cp/CP1/events", b'{"cp_id": "CP1"}', "CP1", "has no type"),
    ("evcharging/cp/CP1/events", b'{"type": "launch", "cp_id": "CP1"}', "CP1",
     "unknown message type 'launch'"),
    ("evcharging/cp/CP1/events", b'{"type": "heartbeat", "cp_id": "CP1", "engine": "OK"}',
     "CP1", "unknown message type 'heartbeat'"),  # control plane, not data plane
    ("evcharging/cp/CP1/events", TELEMETRY, "CP1", "telemetry message does not belong on events"),
    ("evcharging/cp/CP1/telemetry", EVENT, "CP1", "does not belong on telemetry"),
    ("evcharging/cp/CP1/status", EVENT, "CP1", "does not belong on status"),
    ("evcharging/cp/CP2/events", EVENT, "CP2", "cp_id CP1 in payload does not match topic"),
    ("evcharging/cp/CP1/events", EVENT.replace(b'"available"', b'"flying"'), "CP1",
     "state must be one of"),
    ("evcharging/cp/CP1/events", EVENT.replace(b'"OK"', b'7'), "CP1", "wrong type"),
    ("evcharging/cp/CP1/events", EVENT[:-1] + b',"extra":1}', "CP1", "unknown fields"),
    ("evcharging/cp/CP1/events", b" " * (MAX_PAYLOAD + 1), "CP1", "payload too large"),
])
def test_malformed_messages_dead_letter_with_a_reason(topic, payload, key, reason):
    result = route(topic, payload)
    assert isinstance(result, DeadLetter)
    assert result.key == key
    assert reason in result.reason


def test_dead_letter_record_keeps_text_payloads_as_text():
    record = dead_letter_record(DeadLetter("bad", "CP1"), "evcharging/cp/CP1/events",
                                b'{"x": "\xc3\xa9"}', TS)
    assert (record.kafka_topic, record.key) == ("deadletter", "CP1")
    assert json.loads(record.value) == {"reason": "bad", "source": "mqtt",
                                        "mqtt_topic": "evcharging/cp/CP1/events",
                                        "payload": '{"x": "\u00e9"}', "ts": TS}


def test_dead_letter_record_base64_encodes_binary_payloads():
    record = dead_letter_record(DeadLetter("bad"), "evcharging/cp/x/y", b"\xff\x00", TS)
    body = json.loads(record.value)
    assert record.key is None
    assert body["payload_encoding"] == "base64"
    assert base64.b64decode(body["payload"]) == b"\xff\x00"


def test_dead_letter_record_truncates_oversize_payloads():
    record = dead_letter_record(DeadLetter("big", "CP1"), "t", b"a" * (MAX_PAYLOAD + 1), TS)
    assert len(json.loads(record.value)["payload"]) == 1024
