"""protocol.rules: each rule as a table of what it keeps and what it refuses, and why."""

import re

import pytest

from protocol.errors import FormatViolation
from protocol.rules import (
    CP_ID,
    Choice,
    DecimalString,
    Length,
    Pattern,
    Requires,
    UtcTimestamp,
    parse_ts,
)
from protocol.states import Health


@pytest.mark.parametrize("amount", ["0", "0.35", "1.234", "7.4", "1E+3", "1.2e-7", "+1", ".5",
                                    "5.", "-0", "-0.000", "0E-8", "1" * 300])
def test_decimal_strings_kept(amount):
    assert DecimalString().check("kwh", amount) == amount


@pytest.mark.parametrize(("amount", "reason"), [
    ("-1", "kwh must be a finite non-negative decimal"),
    ("-0.01", "kwh must be a finite non-negative decimal"),
    ("NaN", "kwh must be a finite non-negative decimal"),
    ("Infinity", "kwh must be a finite non-negative decimal"),
    ("abc", "kwh must be a decimal string, not 'abc'"),
    ("", "kwh must be a decimal string, not ''"),
    (" 1.5", "kwh must be a decimal string, not ' 1.5'"),
    ("1_000", "kwh must be a decimal string, not '1_000'"),
    ("1.5\n", "kwh must be a decimal string"),
    ("١", "kwh must be a decimal string"),  # an Arabic-Indic digit: Decimal takes it
    ("1e5000", "kwh must be a decimal string"),  # beyond what Decimal's arithmetic takes
])
def test_decimal_strings_refused(amount, reason):
    with pytest.raises(FormatViolation, match=f"^{reason}"):
        DecimalString().check("kwh", amount)


@pytest.mark.parametrize("moment", [
    "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456+00:00",
    "2026-11-22T11:00:00+01:00", "2024-02-29T23:59:59-05:30",
])
def test_timestamps_kept(moment):
    assert UtcTimestamp().check("ts", moment) == moment
    assert parse_ts(moment).tzinfo is not None


@pytest.mark.parametrize("moment", [
    "yesterday", "2026-11-22T10:00:00", "2026-11-22 10:00:00Z", "2026-11-22T10:00Z",
    "20261122T100000Z", "2026-02-30T10:00:00Z", "2025-02-29T10:00:00Z",
    "2026-11-22T24:00:00Z", "2026-11-22T10:00:00.000Z\n", "2026-11-22T10:00:00+0100",
])
def test_timestamps_refused(moment):
    with pytest.raises(FormatViolation, match="^ts must be an ISO-8601 UTC timestamp, not"):
        UtcTimestamp().check("ts", moment)


def test_a_pattern_matches_the_whole_string():
    rule = Pattern(CP_ID)
    assert rule.check("cp_id", "MAD-01") == "MAD-01"
    assert CP_ID.match("MAD-01\n") is None  # so importers calling .match agree
    for bad in ("MAD-01\n", "-MAD", "a b", "x" * 65, ""):
        with pytest.raises(FormatViolation, match=re.escape(f"bad cp_id {bad!r}")):
            rule.check("cp_id", bad)


def test_a_length_names_its_field():
    assert Length(3).check("location", "abc") == "abc"
    with pytest.raises(FormatViolation, match="^location too long$"):
        Length(3).check("location", "abcd")
    with pytest.raises(FormatViolation, match="^bad message id$"):
        Length(64, 1, "bad message id").check("id", "")


def test_a_choice_keeps_the_member():
    rule = Choice(Health, (Health.OK, Health.KO))
    assert rule.check("status", "KO") is Health.KO
    with pytest.raises(FormatViolation, match="^status must be one of OK, KO, not 'DOWN'$"):
        rule.check("status", Health.DOWN)


class Box:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def test_requires_holds_only_for_the_values_it_names():
    rule = Requires("action", ("authorize",), ("session_id", "price"))
    rule.check(Box(action="stop", session_id=None, price=None))
    rule.check(Box(action="authorize", session_id="s", price="1"))
    for session_id, price in ((None, "1"), ("s", ""), ("", None)):
        with pytest.raises(FormatViolation, match="^authorize needs session_id and price$"):
            rule.check(Box(action="authorize", session_id=session_id, price=price))
