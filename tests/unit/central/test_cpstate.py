"""The displayed state of a CP, from its facts (ARCHITECTURE section 5): the precedence
table, and the README's States table checked against it."""

import re
from pathlib import Path

import pytest

from cloud.central.cpstate import (
    PRECEDENCE,
    Facts,
    StopReason,
    derive_state,
    reasons_text,
    supply_refusal,
    view,
)
from protocol.states import CpState

NOW = 100.0
UP = {"connected": True, "last_heartbeat": NOW - 1, "engine": "OK"}
ADMIN = frozenset({StopReason.ADMIN})
REVOKED = frozenset({StopReason.KEY_REVOKED})
README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.mark.parametrize(("facts", "expected"), [
    ({}, "DISCONNECTED"),
    ({**UP, "connected": False}, "DISCONNECTED"),
    ({**UP, "last_heartbeat": None}, "DISCONNECTED"),
    ({**UP, "last_heartbeat": NOW - 3.01}, "DISCONNECTED"),
    ({**UP, "last_heartbeat": NOW - 3.0}, "ACTIVATED"),
    ({**UP, "connected": False, "engine": "KO", "stop_reasons": ADMIN}, "DISCONNECTED"),
    ({**UP, "engine": "KO"}, "BROKEN"),
    ({**UP, "engine": "DOWN"}, "BROKEN"),
    ({**UP, "engine": "KO", "stop_reasons": ADMIN, "session": "supplying"}, "BROKEN"),
    ({**UP, "stop_reasons": ADMIN}, "STOPPED"),
    ({**UP, "stop_reasons": ADMIN, "session": "supplying"}, "STOPPED"),
    ({**UP, "session": "supplying"}, "SUPPLYING"),
    ({"stop_reasons": REVOKED}, "STOPPED"),  # a revoked key shows while its link is down
    ({**UP, "engine": "KO", "stop_reasons": REVOKED}, "STOPPED"),
    ({**UP, "stop_reasons": REVOKED | ADMIN, "session": "supplying"}, "STOPPED"),
    ({**UP, "session": "authorized"}, "AUTHORIZED"),
    (UP, "ACTIVATED"),
])
def test_derive_state(facts, expected):
    assert derive_state(Facts(**facts), NOW) == expected


@pytest.mark.parametrize("reasons", [{StopReason.WEATHER}, {StopReason.KEY_REVOKED},
                                     {StopReason.ADMIN, StopReason.WEATHER}])
def test_any_stop_reason_stops(reasons):
    assert derive_state(Facts(**UP, stop_reasons=frozenset(reasons)), NOW) == "STOPPED"


def test_the_precedence_table_covers_every_state_once_and_ends_with_a_catch_all():
    """Every state once in its order, after the one row that overrides them all: a CP
    whose key was revoked is out of order whatever else holds."""
    assert [rule.state for rule in PRECEDENCE[1:]] == list(CpState)
    assert PRECEDENCE[0].state == CpState.STOPPED and "key revoked" in PRECEDENCE[0].dashboard
    assert PRECEDENCE[0].holds(Facts(stop_reasons=REVOKED), NOW)
    assert not PRECEDENCE[0].holds(Facts(**UP, stop_reasons=ADMIN), NOW)
    assert PRECEDENCE[-1].holds(Facts(), NOW)


def readme_states() -> list[list[str]]:
    """The rows of the README's States table, cells stripped."""
    section = README.read_text().split("\n## States\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def test_the_readme_states_table_is_the_precedence_table():
    assert readme_states() == [[rule.state, rule.when, rule.dashboard, rule.leds]
                               for rule in PRECEDENCE]
    assert re.search(r"\| state \| when \| dashboard \| LEDs on the Pi \|", README.read_text())


def test_reasons_text_is_in_the_order_of_the_view():
    reasons = {StopReason.WEATHER, StopReason.ADMIN}
    assert reasons_text(reasons) == "stopped by admin, weather alert"
    assert view("CP1", "", "0.3", "STOPPED", None, None, None, reasons=reasons)[
        "stop_reasons"] == ["admin", "weather"]


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


@pytest.mark.parametrize(("reasons", "shown"), [
    (frozenset(), []), (ADMIN, ["admin"]),
    (frozenset({StopReason.KEY_REVOKED, StopReason.ADMIN}), ["admin", "key revoked"])])
def test_view_says_why_the_cp_is_stopped(reasons, shown):
    cp = view("CP1", "here", "0.35", "DISCONNECTED", None, None, None, reasons=reasons)
    assert cp["stop_reasons"] == shown
    assert view("CP1", "here", "0.35", "ACTIVATED", None, None, None)["stop_reasons"] == []
