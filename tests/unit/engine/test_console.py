from edge.engine.console import status_line


def snapshot(**overrides):
    base = {"cp_id": "MAD-01", "state": "supplying", "health": "OK", "monitor": True,
            "central": False, "leds": {"green": "off", "blue": "on", "amber": "off"},
            "supply": {"driver_id": "D1", "kw": "7.4", "kwh": "1.234", "eur": "0.43"},
            "authorization": None}
    return {**base, **overrides}


def test_status_line_shows_state_leds_links_and_the_live_supply():
    line = status_line(snapshot())
    assert line == ("MAD-01 SUPPLYING OK [LEDs blue:on] (monitor up, Central down)"
                    " | D1 7.4 kW 1.234 kWh 0.43 EUR")


def test_status_line_while_waiting_for_the_vehicle():
    auth = {"driver_id": None, "expires_in_s": 42}
    line = status_line(snapshot(state="authorized", supply=None, authorization=auth,
                                leds={"green": "blink"}))
    assert line.endswith("[LEDs green:blink] (monitor up, Central down) | waiting for ad hoc "
                         "to plug in (42 s)")


def test_status_line_shows_the_uplink_when_there_is_one():
    line = status_line(snapshot(uplink=True, mqtt=False, outbox=12))
    assert "(monitor up, Central down, MQTT down, outbox 12)" in line


def test_a_supply_started_at_the_cp_is_ad_hoc():
    line = status_line(snapshot(supply={"driver_id": None, "kw": "22", "kwh": "1.000",
                                        "eur": "0.35"}))
    assert line.endswith(" | ad hoc 22 kW 1.000 kWh 0.35 EUR")


def test_a_revoked_key_is_on_the_status_line():
    line = status_line(snapshot(state="available", supply=None, key_revoked=True))
    assert line.endswith("(monitor up, Central down) | key revoked by Central: no supply "
                         "until a new key")
