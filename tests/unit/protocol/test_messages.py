"""protocol.messages: the control plane's types, and the names every importer uses."""

import pytest

from protocol import codec, rules
from protocol import messages as m
from protocol.errors import FormatViolation
from protocol.states import EngineState, Health

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


@pytest.mark.parametrize("amount", ["-1", "NaN", "abc", "Infinity"])
def test_amounts_are_finite_non_negative_decimal_strings(amount):
    with pytest.raises(FormatViolation, match="^price_eur_kwh must be a"):
        m.Welcome(cp_id="CP1", enabled=True, price_eur_kwh=amount)


def test_a_location_is_at_most_200_characters():
    assert m.Hello(cp_id="CP1", location="x" * 200).location == "x" * 200
    with pytest.raises(FormatViolation, match="^location too long$"):
        m.Hello(cp_id="CP1", location="x" * 201)


def test_the_names_importers_use_are_still_here():
    assert (m.Message, m.encode, m.build, m.new_id, m.utc_now) == (
        codec.Message, codec.encode, codec.build, codec.new_id, codec.utc_now)
    assert m.parse_ts is rules.parse_ts and m.CP_ID is m.DRIVER_ID is rules.CP_ID
    assert m.MAX_TEXT == 200 and m.driver_or_ad_hoc(None) == m.AD_HOC == "ad hoc"
    assert m.ENGINE_STATES == tuple(EngineState) and m.HEALTH == tuple(Health)
    assert m.BUTTONS == ("fault", "plug", "request")
    assert m.ACTIONS == ("authorize", "stop", "resume", "end_supply")
    assert all(type(name) is str for name in m.BUTTONS + m.ENGINE_STATES)
    assert set(m.__all__) >= {cls.__name__ for cls in m.MESSAGE_TYPES.values()}


def test_decode_defaults_to_the_control_plane():
    beat = m.Heartbeat(cp_id="CP1", engine="OK")
    assert m.decode(m.encode(beat)) == beat == m.CONTROL_CODEC.decode(m.encode(beat))
