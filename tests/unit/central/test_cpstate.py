"""The displayed state of a CP, from its facts (ARCHITECTURE section 5)."""

import pytest

from cloud.central.cpstate import Facts, derive_state, supply_refusal, view

NOW = 100.0
UP = {"connected": True, "last_heartbeat": NOW - 1, "engine": "OK", "enabled": True}


@pytest.mark.parametrize(("facts", "expected"), [
    ({}, "DISCONNECTED"),
    ({**UP, "connected": False}, "DISCONNECTED"),
    ({**UP, "last_heartbeat": None}, "DISCONNECTED"),
    ({**UP, "last_heartbeat": NOW - 3.01}, "DISCONNECTED"),
    ({**UP, "last_heartbeat": NOW - 3.0}, "ACTIVATED"),
    ({**UP, "connected": False, "engine": "KO", "enabled": False}, "DISCONNECTED"),
    ({**UP, "engine": "KO"}, "BROKEN"),
    ({**UP, "engine": "DOWN"}, "BROKEN"),
    ({**UP, "engine": "KO", "enabled": False, "session": "supplying"}, "BROKEN"),
    ({**UP, "enabled": False}, "STOPPED"),
    ({**UP, "enabled": False, "session": "supplying"}, "STOPPED"),
    ({**UP, "session": "supplying"}, "SUPPLYING"),
    ({**UP, "session": "authorized"}, "AUTHORIZED"),
    (UP, "ACTIVATED"),
])
def test_derive_state(facts, expected):
    assert derive_state(Facts(**facts), NOW) == expected


@pytest.mark.parametrize(("state", "driver_id", "known", "expected"), [
    ("ACTIVATED", "D1", True, None),
    ("ACTIVATED", None, False, None),
    ("ACTIVATED", "D9", False, "unknown driver"),
    ("SUPPLYING", "D1", True, "CP busy"),
    ("AUTHORIZED", "D1", True, "CP busy"),
    ("STOPPED", "D1", True, "stopped"),
    ("BROKEN", "D1", True, "broken"),
    ("DISCONNECTED", "D1", True, "disconnected"),
])
def test_supply_refusal(state, driver_id, known, expected):
    assert supply_refusal(state, driver_id, known) == expected


LIVE = ("7.2", "1.5", "0.525")


@pytest.mark.parametrize(("state", "live", "figures"), [
    ("SUPPLYING", LIVE, LIVE),
    ("SUPPLYING", None, (None, None, None)),
    ("AUTHORIZED", LIVE, (None, None, None)),
    ("BROKEN", LIVE, (None, None, None)),
    ("ACTIVATED", None, (None, None, None)),
])
def test_view_shows_live_figures_only_while_supplying(state, live, figures):
    shown = view("CP1", "here", "0.35", state, "S1", "D1", "2026-01-02T10:00:00Z", live)
    assert (shown["kw"], shown["kwh"], shown["eur"]) == figures


@pytest.mark.parametrize("enabled", [True, False])
def test_view_says_whether_the_cp_is_enabled(enabled):
    shown = view("CP1", "here", "0.35", "DISCONNECTED", None, None, None, enabled=enabled)
    assert shown["enabled"] is enabled
    assert view("CP1", "here", "0.35", "ACTIVATED", None, None, None)["enabled"] is True
