"""Session filters, totals, rows and CSV lines: pure functions, parametrized tables."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from cloud.central.session_report import (
    COLUMNS,
    BadFilter,
    SessionFilter,
    Totals,
    csv_filename,
    csv_lines,
    driver_label,
    duration,
    parse_count,
    parse_day,
    parse_filter,
    row,
    totals,
    utc_text,
)

ENDED = {"id": "s1", "cp_id": "CP1", "driver_id": "D7", "source": "driver",
         "authorized_at": "2026-01-02T09:59:00.000Z", "started_at": "2026-01-02T10:00:00.000Z",
         "ended_at": "2026-01-02T11:02:03.500Z", "kwh": "7.400", "eur": "2.59000",
         "reason": "unplugged", "status": "ended"}


@pytest.mark.parametrize(("text", "expected"), [
    (None, None), ("", None), ("2026-01-02", date(2026, 1, 2)), ("2024-02-29", date(2024, 2, 29)),
])
def test_parse_day(text, expected):
    assert parse_day(text) == expected


@pytest.mark.parametrize("text", [
    "2026-13-01", "2026-02-30", "2025-02-29", "20260102", "2026-W01-1", "2026-1-2",
    "2026-01-02T10:00", " 2026-01-02", "２０２６-01-02", "yesterday", "x" * 5000,
])
def test_a_bad_day_is_one_clear_line(text):
    with pytest.raises(BadFilter) as error:
        parse_day(text)
    message = str(error.value)
    assert message.startswith("bad day ") and "YYYY-MM-DD" in message
    assert "\n" not in message and len(message) < 150


def test_parse_filter_takes_ids_and_day_and_ignores_empty_values():
    assert parse_filter({}) == SessionFilter()
    assert parse_filter({"cp_id": "", "driver_id": "", "day": ""}) == SessionFilter()
    where = parse_filter({"cp_id": "CP-1.a", "driver_id": "D_7", "day": "2026-01-02"})
    assert where == SessionFilter("CP-1.a", "D_7", date(2026, 1, 2))
    assert where.query() == {"cp_id": "CP-1.a", "driver_id": "D_7", "day": "2026-01-02"}
    assert where.store_args() == {"cp_id": "CP-1.a", "driver_id": "D_7", "day": "2026-01-02"}
    assert SessionFilter(driver_id="D7").query() == {"driver_id": "D7"}


@pytest.mark.parametrize(("args", "name"), [
    ({"cp_id": "x" * 65}, "cp_id"), ({"cp_id": "bad id"}, "cp_id"),
    ({"driver_id": "<script>"}, "driver_id"), ({"driver_id": "-D7"}, "driver_id"),
    ({"day": "2026-00-10"}, "day"),
])
def test_parse_filter_rejects_bad_values(args, name):
    with pytest.raises(BadFilter, match=f"^bad {name} "):
        parse_filter(args)


@pytest.mark.parametrize(("text", "expected"), [(None, 7), ("", 7), ("1", 1), ("100", 100)])
def test_parse_count(text, expected):
    assert parse_count("page", text, 7, 1, 100) == expected


@pytest.mark.parametrize("text", ["0", "101", "-1", "1.5", "abc", "١"])
def test_parse_count_rejects(text):
    with pytest.raises(BadFilter, match="^page must be a whole number from 1 to 100$"):
        parse_count("page", text, 7, 1, 100)


@pytest.mark.parametrize(("amounts", "expected"), [
    ([], Totals(0, Decimal(0), Decimal(0))),
    ([("0.1", "0.1"), ("0.2", "0.2")], Totals(2, Decimal("0.3"), Decimal("0.3"))),
    ([("2.000", "0.70000"), ("1.000", "0.40000"), (None, None)],
     Totals(3, Decimal("3.000"), Decimal("1.10000"))),
    ([("1.5", "0.525"), ("", ""), ("NaN", "Infinity"), ("junk", "1")],
     Totals(4, Decimal("1.5"), Decimal("1.525"))),
])
def test_totals_are_exact_decimals(amounts, expected):
    result = totals(amounts)
    assert result == expected
    assert result.as_json() == {"count": expected.count, "kwh": str(expected.kwh),
                                "eur": str(expected.eur)}


def test_totals_of_many_sessions_do_not_drift():
    result = totals([("0.001", "0.01")] * 3000)
    assert (result.kwh, result.eur) == (Decimal("3.000"), Decimal("30.00"))
    assert sum([0.01] * 3000) != 30.0  # what summing floats would have shown


def test_row_of_an_ended_supply():
    assert row(ENDED) == ("CP1", "D7", "2026-01-02 10:00:00", "2026-01-02 11:02:03", "1:02:03",
                          "7.400", "2.59000", "ended", "unplugged")
    assert len(row(ENDED)) == len(COLUMNS)


def test_row_of_a_denied_request_starts_when_it_was_asked_for():
    denied = {"cp_id": "CP2", "driver_id": "D8", "source": "driver", "status": "denied",
              "authorized_at": "2026-01-02T08:00:00.000Z", "ended_at": "2026-01-02T08:00:00.000Z",
              "reason": "CP busy"}
    assert row(denied) == ("CP2", "D8", "2026-01-02 08:00:00", "2026-01-02 08:00:00", "", "", "",
                           "denied", "CP busy")


def test_a_supply_started_at_the_cp_without_a_driver_id_is_ad_hoc():
    started = {"cp_id": "CP1", "driver_id": None, "source": "button", "status": "supplying",
               "started_at": "2026-01-02T10:00:00+01:00"}
    assert driver_label(started) == "ad hoc"
    assert row(started)[:5] == ("CP1", "ad hoc", "2026-01-02 09:00:00", "", "")
    assert driver_label({"driver_id": "CARD-0A1B", "source": "card"}) == "CARD-0A1B"


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-01-02T10:00:00Z", "2026-01-02T10:00:59.999Z", "0:00:59"),
    ("2026-01-02T10:00:00Z", "2026-01-03T12:00:00Z", "26:00:00"),
    ("2026-01-02T10:00:00+01:00", "2026-01-02T09:30:00Z", "0:30:00"),
    ("2026-01-02T10:00:00Z", "2026-01-02T09:00:00Z", ""),
    (None, "2026-01-02T09:00:00Z", ""), ("2026-01-02T10:00:00Z", None, ""),
    ("garbage", "2026-01-02T09:00:00Z", ""),
])
def test_duration(start, end, expected):
    assert duration(start, end) == expected


def test_utc_text_keeps_what_it_cannot_read():
    assert utc_text("2026-01-02T23:30:00-01:00") == "2026-01-03 00:30:00"
    assert utc_text("not a time") == "not a time"
    assert utc_text(None) == ""


def test_csv_lines_are_a_header_and_one_row_per_session():
    tricky = {**ENDED, "id": "s2", "reason": 'fault, "engine KO"\nline two'}
    formula = {**ENDED, "id": "s3", "reason": "=HYPERLINK(\"http://x\")", "driver_id": None}
    lines = list(csv_lines([ENDED, tricky, formula]))
    assert len(lines) == 4 and all(line.endswith("\r\n") for line in lines)
    parsed = list(csv.reader(io.StringIO("".join(lines))))
    assert parsed[0] == list(COLUMNS)
    assert parsed[1] == list(row(ENDED))
    assert parsed[2][-1] == 'fault, "engine KO"\nline two'
    assert parsed[3][1] == "ad hoc"
    assert parsed[3][-1] == "'=HYPERLINK(\"http://x\")"


def test_csv_of_nothing_is_the_header():
    assert list(csv_lines([])) == [",".join(COLUMNS) + "\r\n"]


@pytest.mark.parametrize(("where", "name"), [
    (SessionFilter(), "sessions.csv"),
    (SessionFilter("CP1", None, date(2026, 1, 2)), "sessions-CP1-2026-01-02.csv"),
    (SessionFilter("CP1", "D7", None), "sessions-CP1-D7.csv"),
])
def test_csv_filename(where, name):
    assert csv_filename(where) == name
