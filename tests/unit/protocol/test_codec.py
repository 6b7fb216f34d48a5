"""protocol.codec: the wire form is the one it was, every type round-trips, and the
decoder refuses with a typed error and a reason."""

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import data
from protocol import driver as d
from protocol import messages as m
from protocol.codec import JsonCodec, build, decode, encode
from protocol.errors import FormatViolation, UnknownMessageType
from protocol.schema import ALL_TYPES
from protocol.states import EngineState, Health
from tests.unit.protocol.strategies import TS, messages

TYPES = sorted({*ALL_TYPES.values()}, key=lambda cls: cls.TYPE)


@pytest.mark.parametrize(("message", "wire"), [
    (m.Heartbeat(cp_id="MAD-01", id="h-1", ts=TS, engine="KO", state="broken", driver_id="D1"),
     b'{"type":"heartbeat","cp_id":"MAD-01","id":"h-1","ts":"2026-11-22T10:00:00.000Z",'
     b'"engine":"KO","state":"broken","session_id":null,"driver_id":"D1"}'),
    (m.Command(cp_id="MAD-01", id="c-1", ts=TS, action="authorize", expires_at=TS,
               driver_id="D1", session_id="s-1", price_eur_kwh="0.35"),
     b'{"type":"command","cp_id":"MAD-01","id":"c-1","ts":"2026-11-22T10:00:00.000Z",'
     b'"action":"authorize","expires_at":"2026-11-22T10:00:00.000Z","driver_id":"D1",'
     b'"session_id":"s-1","price_eur_kwh":"0.35","reason":""}'),
    (m.PanelStatus(cp_id="MAD-01", id="p-1", ts=TS,
                   status={"state": "available", "leds": ["green"], "ñ": None}),
     b'{"type":"panel_status","cp_id":"MAD-01","id":"p-1","ts":"2026-11-22T10:00:00.000Z",'
     b'"status":{"state":"available","leds":["green"],"\xc3\xb1":null}}'),
    (data.CpStatus(cp_id="MAD-01", id="s-1", ts=TS, status="offline"),
     b'{"type":"cp_status","cp_id":"MAD-01","id":"s-1","ts":"2026-11-22T10:00:00.000Z",'
     b'"status":"offline"}'),
    (d.Ticket(driver_id="D1", id="t-1", ts=TS, cp_id="MAD-01", session_id="s-1",
              started_at=TS, ended_at=TS, kwh="1.234", eur="0.43", price_eur_kwh="0.35",
              reason="Madrid ✓"),
     b'{"type":"ticket","driver_id":"D1","id":"t-1","ts":"2026-11-22T10:00:00.000Z",'
     b'"cp_id":"MAD-01","session_id":"s-1","started_at":"2026-11-22T10:00:00.000Z",'
     b'"ended_at":"2026-11-22T10:00:00.000Z","kwh":"1.234","eur":"0.43",'
     b'"price_eur_kwh":"0.35","reason":"Madrid \xe2\x9c\x93","interrupted":false}'),
], ids=lambda value: getattr(value, "TYPE", ""))
def test_the_wire_form_is_unchanged(message, wire):
    """Golden bytes written by the encoder before fields were declared with rules."""
    assert encode(message) == wire


def asdict_encoding(message) -> bytes:
    """How messages were encoded before: dataclasses.asdict, fields in declared order."""
    body = {"type": message.TYPE, **dataclasses.asdict(message)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.TYPE)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_every_type_round_trips(cls, data):
    message = data.draw(messages(cls))
    wire = encode(message)
    assert wire == asdict_encoding(message)
    decoded = decode(wire, ALL_TYPES)
    assert type(decoded) is cls and decoded == message
    assert encode(decoded) == wire


def test_the_registries_cover_every_message_class_of_every_plane():
    declared = {value for module in (m, data, d) for value in vars(module).values()
                if isinstance(value, type) and hasattr(value, "TYPE") and value.TYPE}
    assert declared == set(TYPES)
    assert len(m.MESSAGE_TYPES) == 23 and len(TYPES) == 40


def test_decoded_enum_fields_are_members_and_equal_their_strings():
    wire = encode(m.HealthReport(cp_id="CP1", seq=1, status="KO", state="broken"))
    report = decode(wire, m.MESSAGE_TYPES)
    assert report.status is Health.KO and report.state is EngineState.BROKEN
    assert report.status == "KO" and report.state == "broken"


def body(**fields):
    base = {"type": "heartbeat", "id": "x", "cp_id": "CP1", "ts": TS, "engine": "OK"}
    return json.dumps({**base, **fields}).encode()


@pytest.mark.parametrize(
    ("payload", "error", "reason"),
    [
        (b"\xff\xfe", FormatViolation, "invalid JSON"),
        (b"{not json", FormatViolation, "invalid JSON"),
        (b"[1, 2]", FormatViolation, "message must be a JSON object"),
        (b'{"cp_id": "CP1"}', FormatViolation, "message has no type"),
        (body(type=7), FormatViolation, "message has no type"),
        (body(type="teleport"), UnknownMessageType, "unknown message type 'teleport'"),
        (body(engine="MAYBE"), FormatViolation,
         "engine must be one of OK, KO, DOWN, not 'MAYBE'"),
        (body(engine=1), FormatViolation, "heartbeat: field 'engine' has the wrong type"),
        (body(engine=None), FormatViolation, "heartbeat: field 'engine' has the wrong type"),
        (body(cp_id="../etc"), FormatViolation, "bad cp_id '../etc'"),
        (body(ts="yesterday"), FormatViolation,
         "ts must be an ISO-8601 UTC timestamp, not 'yesterday'"),
        (body(extra=1), FormatViolation, r"heartbeat: unknown fields \['extra'\]"),
        (body(id=""), FormatViolation, "bad message id"),
        (body(id="x" * 65), FormatViolation, "bad message id"),
        (body(driver_id="a b"), FormatViolation, "bad driver_id 'a b'"),
        (body(session_id="x" * 4097), FormatViolation,
         "heartbeat: field 'session_id' too long"),
        (json.dumps({"type": "heartbeat", "cp_id": "CP1"}).encode(), FormatViolation,
         "heartbeat: missing field 'engine'"),
    ],
)
def test_decode_refuses_with_typed_errors_and_reasons(payload, error, reason):
    with pytest.raises(error, match=f"^{reason}") as refusal:
        decode(payload, m.MESSAGE_TYPES)
    assert type(refusal.value) is error


def test_bool_is_not_an_int():
    payload = json.dumps({"type": "health_check", "id": "x", "cp_id": "C", "ts": TS, "seq": True})
    with pytest.raises(FormatViolation, match="field 'seq' has the wrong type"):
        decode(payload.encode(), m.MESSAGE_TYPES)


def test_build_needs_every_required_field_and_no_other():
    assert build(m.HealthCheck, {"cp_id": "CP1", "seq": 3}).seq == 3
    with pytest.raises(FormatViolation, match="health_check: missing field 'seq'"):
        build(m.HealthCheck, {"cp_id": "CP1"})
    with pytest.raises(FormatViolation, match=r"unknown fields \['TYPE'\]"):
        build(m.HealthCheck, {"cp_id": "CP1", "seq": 3, "TYPE": "x"})


def test_a_json_codec_speaks_its_registry_only():
    codec = JsonCodec(data.DATA_TYPES)
    status = data.CpStatus(cp_id="CP1", status="online")
    assert codec.decode(codec.encode(status)) == status
    with pytest.raises(UnknownMessageType):
        codec.decode(encode(m.HealthCheck(cp_id="CP1", seq=1)))
    assert m.CONTROL_CODEC.decode(encode(m.HealthCheck(cp_id="CP1", seq=1))).seq == 1
