"""The weather office's decisions: raise, clear, nothing on missing data, backoff,
status text, what Central is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloud.weather import core
from cloud.weather.core import (
    BAD_ANSWER,
    BAD_KEY,
    NO_KEY,
    RATE_LIMITED,
    UNKNOWN_CITY,
    UNREACHABLE,
    Clear,
    Failure,
    Raise,
    Reading,
)

T0 = datetime(2026, 11, 30, 10, 42, 5, tzinfo=UTC)
ZERO = Decimal("0")


def reading(location: str, temp: str, at: datetime = T0) -> Reading:
    return Reading(location, Decimal(temp), at)


def run(office, outcomes, now=T0, confirm=True):
    """One round; Central confirms every action when ``confirm``."""
    office, actions = core.observe(office, outcomes, now)
    if confirm:
        for action in actions:
            office = core.sent(office, action)
    return office, actions


@pytest.mark.parametrize("temp, expected", [
    ("-0.01", Raise), ("-30", Raise), ("0", Clear), ("0.0", Clear), ("12.5", Clear)])
def test_below_the_threshold_raises_at_or_above_clears(temp, expected):
    office = core.start(ZERO, ["Madrid"], raised=None)
    _, actions = run(office, [reading("Madrid", temp)])
    assert [type(a) for a in actions] == [expected]


def test_the_threshold_is_configurable():
    office = core.start(Decimal("5"), ["Oslo"], raised=set())
    _, actions = run(office, [reading("Oslo", "4.9")])
    assert actions == [Raise("Oslo", reading("Oslo", "4.9"), Decimal("5"))]
    office = core.start(Decimal("-10"), ["Oslo"], raised=set())
    assert run(office, [reading("Oslo", "-9")])[1] == []  # known cleared: nothing to say


def test_what_central_holds_is_not_sent_again():
    office = core.start(ZERO, ["Oslo"], raised=set())
    office, actions = run(office, [reading("Oslo", "-2")])
    assert len(actions) == 1
    office, actions = run(office, [reading("Oslo", "-3")])
    assert actions == []  # raised already
    office, actions = run(office, [reading("Oslo", "1")])
    assert actions == [Clear("Oslo")]
    assert run(office, [reading("Oslo", "2")])[1] == []


def test_a_restarted_office_knows_what_is_raised():
    office = core.start(ZERO, ["Oslo", "Madrid"], raised={"Oslo"})
    _, actions = run(office, [reading("Oslo", "-2"), reading("Madrid", "15")])
    assert actions == []


def test_unknown_belief_sends_both_ways():
    office = core.start(ZERO, ["Oslo", "Madrid"], raised=None)
    _, actions = run(office, [reading("Oslo", "-2"), reading("Madrid", "15")])
    assert [type(a) for a in actions] == [Raise, Clear]


def test_a_failed_send_is_retried_next_round():
    office = core.start(ZERO, ["Oslo"], raised=set())
    office, actions = run(office, [reading("Oslo", "-2")], confirm=False)
    assert len(actions) == 1
    office, again = run(office, [reading("Oslo", "-2.5")], confirm=False)
    assert [type(a) for a in again] == [Raise]
    office = core.sent(office, again[0])
    assert run(office, [reading("Oslo", "-3")])[1] == []


@pytest.mark.parametrize("kind", [UNREACHABLE, BAD_KEY, NO_KEY, RATE_LIMITED, BAD_ANSWER,
                                  UNKNOWN_CITY])
def test_missing_data_never_raises_nor_clears(kind):
    for raised in (set(), {"Oslo"}, None):
        office = core.start(ZERO, ["Oslo"], raised=raised)
        office, actions = run(office, [Failure("Oslo", kind)])
        assert actions == []
    # a cold reading, then the provider fails while it is warm again: still raised
    office = core.start(ZERO, ["Oslo"], raised=set())
    office, _ = run(office, [reading("Oslo", "-4")])
    office, actions = run(office, [Failure("Oslo", kind)], T0 + timedelta(seconds=4))
    assert actions == [] and office.watches["Oslo"].alert is True
    assert office.watches["Oslo"].reading == reading("Oslo", "-4")  # the last one kept


def test_backoff_doubles_to_a_minute_and_returns_on_success():
    office = core.start(ZERO, ["Oslo"], raised=set())
    assert core.next_delay(office, 4) == 4
    delays = []
    for n in range(8):
        office, _ = run(office, [Failure("Oslo", UNREACHABLE)], T0 + timedelta(seconds=n))
        delays.append(core.next_delay(office, 4))
    assert delays == [4, 8, 16, 32, 60, 60, 60, 60]
    office, _ = run(office, [reading("Oslo", "3")])
    assert core.next_delay(office, 4) == 4


def test_an_unknown_city_does_not_slow_the_others():
    office = core.start(ZERO, ["Atlantis", "Oslo"], raised=set())
    for _ in range(3):
        office, _ = run(office, [Failure("Atlantis", UNKNOWN_CITY), reading("Oslo", "1")])
    assert core.next_delay(office, 4) == 4


def test_a_large_every_is_never_shortened_by_the_backoff_cap():
    office = core.start(ZERO, ["Oslo"], raised=set())
    for _ in range(3):
        office, _ = run(office, [Failure("Oslo", UNREACHABLE)])
    assert core.next_delay(office, 120) == 120


def test_status_text():
    office = core.start(ZERO, ["Madrid", "Oslo", "Atlantis"], raised=set())
    assert core.status(office) == "ok"
    office, _ = run(office, [Failure("Madrid", UNREACHABLE, "refused"),
                             Failure("Oslo", UNREACHABLE, "refused"),
                             Failure("Atlantis", UNKNOWN_CITY)])
    assert core.status(office) == "provider unreachable since 10:42; unknown city Atlantis"
    later = T0 + timedelta(minutes=5)
    office, _ = run(office, [Failure("Madrid", UNREACHABLE), Failure("Oslo", UNREACHABLE),
                             Failure("Atlantis", UNKNOWN_CITY)], later)
    assert "since 10:42" in core.status(office)  # since the first failure, not the last
    office, _ = run(office, [Failure("Madrid", BAD_KEY), Failure("Oslo", BAD_KEY),
                             reading("Atlantis", "3")], later)
    assert core.status(office) == "bad API key"
    office, _ = run(office, [reading("Madrid", "3"), reading("Oslo", "3")], later)
    assert core.status(office) == "ok"
    office, _ = run(office, [Failure("Madrid", BAD_ANSWER, "no main.temp")], later)
    assert core.status(office) == "bad answer for Madrid: no main.temp"
    office, _ = run(office, [Failure("Madrid", NO_KEY)], later)
    assert core.status(office) == "no API key"


def test_removed_locations_are_cleared_at_central_once():
    office = core.start(ZERO, ["Oslo", "Madrid"], raised={"Oslo", "Gone"})
    assert office.orphans == {"Gone"}
    office = core.relocate(office, ["Madrid", "Bergen"])  # Oslo out, Bergen in
    office, actions = run(office, [Failure("Madrid", UNREACHABLE),
                                   Failure("Bergen", UNREACHABLE)])
    assert actions == [Clear("Gone", "no longer watched"), Clear("Oslo", "no longer watched")]
    assert office.orphans == frozenset()
    assert run(office, [])[1] == []
    assert list(office.watches) == ["Madrid", "Bergen"]
    assert office.watches["Bergen"].alert is None  # new: what Central holds is unknown


def test_a_cleared_location_removed_is_not_cleared_again():
    office = core.start(ZERO, ["Oslo"], raised=set())
    office = core.relocate(office, [])
    assert office.orphans == frozenset()


def test_a_reading_for_a_location_no_longer_watched_is_ignored():
    office = core.start(ZERO, ["Oslo"], raised=set())
    office, actions = run(office, [reading("Madrid", "-5")])
    assert actions == [] and list(office.watches) == ["Oslo"]


def test_the_report_for_central():
    office = core.start(ZERO, ["Oslo", "Atlantis"], raised=set())
    office, _ = run(office, [reading("Oslo", "-3.2"), Failure("Atlantis", UNKNOWN_CITY)])
    assert core.report(office, core.status(office), T0) == {
        "status": "unknown city Atlantis", "since": "2026-11-30T10:42:05Z",
        "locations": [
            {"location": "Oslo", "temperature_c": "-3.2", "observed_at": "2026-11-30T10:42:05Z",
             "alert": True, "error": None},
            {"location": "Atlantis", "temperature_c": None, "observed_at": None,
             "alert": False, "error": "unknown city Atlantis"}]}


def test_learning_what_central_holds_after_a_blind_start():
    office = core.start(ZERO, ["Oslo", "Madrid"], raised=None)
    office, _ = run(office, [reading("Madrid", "-1")])  # Madrid raised meanwhile
    office = core.learn(office, {"Oslo", "Gone"})
    assert office.watches["Oslo"].alert is True
    assert office.watches["Madrid"].alert is True  # what the office itself sent stands
    assert office.orphans == {"Gone"}
    _, actions = run(office, [reading("Oslo", "-2"), reading("Madrid", "-2")])
    assert actions == [Clear("Gone", "no longer watched")]
