import json

import pytest

from protocol import messages as m
from protocol.errors import FormatViolation, UnknownMessageType

TS = "2026-11-22T10:00:00.000Z"


@pytest.mark.parametrize(
    "message",
    [
        m.Hello(cp_id="MAD-01", location="Madrid"),
        m.HealthReport(cp_id="MAD-01", seq=3, status="KO", state="broken"),
        m.Command(cp_id="MAD-01", action="authorize", expires_at=TS, driver_id="D1",
                  session_id="s-1", price_eur_kwh="0.35"),
        m.SupplyEnded(cp_id="MAD-01", session_id="s-1", started_at=TS, ended_at=TS,
                      kwh="1.234", eur="0.43", price_eur_kwh="0.35", reason="unplugged"),
        m.PanelAction(cp_id="", action="status"),
    ],
)
def test_round_trip(message):
    assert m.decode(m.encode(message)) == message


def body(**fields):
    base = {"type": "heartbeat", "id": "x", "cp_id": "CP1", "ts": TS, "engine": "OK"}
    return json.dumps({**base, **fields}).encode()


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"\xff\xfe", FormatViolation),
        (b"{not json", FormatViolation),
        (b"[1, 2]", FormatViolation),
        (b'{"cp_id": "CP1"}', FormatViolation),
        (body(type="teleport"), UnknownMessageType),
        (body(engine="MAYBE"), FormatViolation),
        (body(engine=1), FormatViolation),
        (body(cp_id="../etc"), FormatViolation),
        (body(ts="yesterday"), FormatViolation),
        (body(extra=1), FormatViolation),
        (body(id=""), FormatViolation),
        (body(driver_id="a b"), FormatViolation),
    ],
)
def test_decode_refuses_with_typed_errors(payload, error):
    with pytest.raises(error):
        m.decode(payload)


@pytest.mark.parametrize("amount", ["-1", "NaN", "abc", "Infinity"])
def test_amounts_are_finite_non_negative_decimal_strings(amount):
    with pytest.raises(FormatViolation):
        m.Welcome(cp_id="CP1", enabled=True, price_eur_kwh=amount).check()


def test_authorize_needs_a_session_and_a_price():
    with pytest.raises(FormatViolation):
        m.Command(cp_id="CP1", action="authorize", expires_at=TS).check()


def test_bool_is_not_an_int():
    payload = json.dumps({"type": "health_check", "id": "x", "cp_id": "C", "ts": TS, "seq": True})
    with pytest.raises(FormatViolation):
        m.decode(payload.encode())
