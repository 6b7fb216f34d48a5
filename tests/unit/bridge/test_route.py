"""The bridge's routing table: every payload either relays unchanged or dead-letters.

What a CP publishes is sealed (protocol.seal); the bridge holds no key, so it checks the
envelope's clear parts and relays the bytes as they came."""

import base64
import json

import pytest

from bridge.route import MAX_PAYLOAD, DeadLetter, Relay, dead_letter_record, route
from protocol import data, seal
from protocol.codec import JsonCodec
from protocol.messages import SupplyEnded, encode

TS = "2026-01-01T00:00:00.000Z"
KEY = seal.Key("k-0123456789ab", bytes(range(32)))
PLAIN_EVENT = data.StateChanged(cp_id="CP1", state="available", health="OK")
PLAIN_TELEMETRY = data.Telemetry(cp_id="CP1", session_id="s1", kw="7.4", kwh="1.2",
                                 eur="0.5", price_eur_kwh="0.4")
PLAIN_STATUS = data.CpStatus(cp_id="CP1", status="online")
PLAIN_ENDED = SupplyEnded(cp_id="CP1", session_id="s1", started_at=TS, ended_at=TS,
                          kwh="1", eur="0.4", price_eur_kwh="0.4", reason="done")


def sealed(message, key=KEY, cp_id=None) -> bytes:
    """What the engine publishes: ``message`` sealed under ``key`` by ``cp_id``."""
    codec = seal.SealingCodec(JsonCodec(data.DATA_TYPES), cp_id or message.cp_id, key)
    return codec.encode(message)


def envelope(**changes) -> bytes:
    body = json.loads(sealed(PLAIN_EVENT))
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


EVENT, TELEMETRY, STATUS, ENDED = (sealed(m) for m in (PLAIN_EVENT, PLAIN_TELEMETRY,
                                                        PLAIN_STATUS, PLAIN_ENDED))


@pytest.mark.parametrize("topic, payload, kafka_topic", [
    ("evcharging/cp/CP1/events", EVENT, "cp.events"),
    ("evcharging/cp/CP1/events", ENDED, "cp.events"),
    ("evcharging/cp/CP1/telemetry", TELEMETRY, "cp.telemetry"),
    ("evcharging/cp/CP1/status", STATUS, "cp.events"),
    # the last will, fixed at connection time: presence only, may be plain
    ("evcharging/cp/CP1/status", encode(PLAIN_STATUS), "cp.events"),
])
def test_valid_messages_relay_unchanged_keyed_by_cp(topic, payload, kafka_topic):
    assert route(topic, payload) == Relay(kafka_topic, "CP1", payload)


def test_the_bridge_relays_what_it_cannot_open():
    """A payload tampered with inside its ciphertext still looks like an envelope: the
    bridge relays it, and Central (which holds the key) refuses it."""
    body = json.loads(EVENT)
    body["ct"] = ("A" if body["ct"][0] != "A" else "B") + body["ct"][1:]
    tampered = json.dumps(body).encode()
    assert route("evcharging/cp/CP1/events", tampered) == Relay("cp.events", "CP1", tampered)


@pytest.mark.parametrize("topic, payload, key, reason", [
    ("evcharging/cp/CP1/other", EVENT, None, "is not evcharging/cp/<cp_id>/<kind>"),
    ("evcharging/cp/CP1/events/x", EVENT, None, "is not evcharging/cp/<cp_id>/<kind>"),
    ("evcharging/cp/" + "x" * 65 + "/events", EVENT, None, "is not evcharging"),
    ("evcharging/cp/CP1/events", b"{not json", "CP1", "invalid JSON"),
    ("evcharging/cp/CP1/events", b"\xff\xfe\x00", "CP1", "invalid JSON"),
    ("evcharging/cp/CP1/events", b"[1, 2]", "CP1", "Expected `object`, got `array`"),
    ("evcharging/cp/CP1/status", b"[1, 2]", "CP1", "Expected `object`, got `array`"),
    # plain messages: refused on events and telemetry
    ("evcharging/cp/CP1/events", encode(PLAIN_EVENT), "CP1",
     "not sealed: a plain 'state_changed' message on events"),
    ("evcharging/cp/CP1/events", encode(PLAIN_ENDED), "CP1",
     "not sealed: a plain 'supply_ended' message on events"),
    ("evcharging/cp/CP1/telemetry", encode(PLAIN_TELEMETRY), "CP1", "not sealed"),
    ("evcharging/cp/CP1/events", b'{"cp_id": "CP1"}', "CP1", "not sealed: a plain 'None'"),
    # ... and on status anything but a valid cp_status of the topic's CP
    ("evcharging/cp/CP1/status", encode(PLAIN_EVENT), "CP1", "does not belong on status"),
    ("evcharging/cp/CP2/status", encode(PLAIN_STATUS), "CP2",
     "cp_id CP1 in payload does not match topic"),
    ("evcharging/cp/CP1/status", b'{"type": "cp_status", "cp_id": "CP1"}', "CP1", "missing"),
    # the envelope's clear parts
    ("evcharging/cp/CP1/events", envelope(v=2), "CP1", "unknown envelope version 2"),
    ("evcharging/cp/CP1/events", envelope(v="1"), "CP1", "unknown envelope version '1'"),
    ("evcharging/cp/CP1/events", envelope(key_id=None), "CP1", "missing required field `key_id`"),
    ("evcharging/cp/CP1/events", envelope(key_id=""), "CP1", "length >= 1 - at `$.key_id`"),
    ("evcharging/cp/CP1/events", envelope(key_id="k" * 65), "CP1", "bad key id"),
    ("evcharging/cp/CP1/events", envelope(key_id="k\n1"), "CP1", "bad key id 'k\\n1'"),
    ("evcharging/cp/CP1/events", envelope(key_id="k 1"), "CP1", "bad key id 'k 1'"),
    ("evcharging/cp/CP1/events", envelope(ct=None), "CP1", "missing required field `ct`"),
    ("evcharging/cp/CP1/events", envelope(nonce="AAAA"), "CP1", "length >= 12 - at `$.nonce`"),
    ("evcharging/cp/CP1/events", envelope(extra="x"), "CP1", "unknown field `extra`"),
    ("evcharging/cp/CP2/events", EVENT, "CP2", "cp_id CP1 in envelope does not match topic"),
    ("evcharging/cp/CP1/events", TELEMETRY, "CP1",
     "a sealed 'telemetry' message does not belong on events"),
    ("evcharging/cp/CP1/telemetry", EVENT, "CP1", "does not belong on telemetry"),
    ("evcharging/cp/CP1/status", EVENT, "CP1", "does not belong on status"),
    ("evcharging/cp/CP1/events", envelope(type="heartbeat"), "CP1",
     "'heartbeat' message does not belong on events"),  # control plane, not data plane
    ("evcharging/cp/CP1/events", b" " * (MAX_PAYLOAD + 1), "CP1", "payload too large"),
])
def test_malformed_messages_dead_letter_with_a_reason(topic, payload, key, reason):
    result = route(topic, payload)
    assert isinstance(result, DeadLetter)
    assert result.key == key
    assert reason in result.reason


def test_a_reason_never_holds_the_ciphertext():
    body = json.loads(EVENT)
    result = route("evcharging/cp/CP2/events", EVENT)
    assert body["ct"] not in result.reason and body["nonce"] not in result.reason


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
