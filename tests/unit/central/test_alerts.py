"""Weather alerts' plain data: how a location is matched, and what the office's bodies
must hold (the reasons are what the API answers)."""

from __future__ import annotations

import pytest

from cloud.central.alerts import (
    BadAlert,
    Reading,
    alert_key,
    country,
    location_name,
    matches,
    place,
    reading,
    weather_report,
)


@pytest.mark.parametrize(("location", "key"), [
    ("Madrid", "madrid"), (" madrid ", "madrid"), ("Madrid,ES", "madrid"),
    ("Paris, FR", "paris"), ("São Paulo", "são paulo"), ("Campus, parking B", "campus"),
])
def test_a_location_is_matched_on_its_city(location, key):
    assert place(location) == key


def test_a_reading_is_normalised():
    assert reading({"temperature_c": -3.20, "threshold_c": "0",
                    "observed_at": "2026-01-02T10:42:00+01:00"}) == Reading(
        "-3.2", "0", "2026-01-02T09:42:00Z")


@pytest.mark.parametrize(("text", "reason"), [
    ("", "must not be empty"), (",ES", "must not be empty"), ("x" * 101, "at most 100"),
    ("Mad\nrid", "control characters"),
])
def test_a_bad_location_says_why(text, reason):
    with pytest.raises(BadAlert, match=reason):
        location_name(text)


def test_a_report_keeps_what_the_dashboard_shows():
    shown = weather_report({"status": " ok ", "since": None, "locations": [
        {"location": "Madrid", "temperature_c": "7.50", "observed_at": "2026-01-02T10:00:00Z",
         "alert": False, "error": None}]}, "2026-01-02T10:00:01Z")
    assert shown == {"status": "ok", "since": None, "received_at": "2026-01-02T10:00:01Z",
                     "locations": [{"location": "Madrid", "temperature_c": "7.50",
                                    "observed_at": "2026-01-02T10:00:00Z", "alert": False,
                                    "error": None}]}


def test_a_report_of_too_many_locations_is_refused():
    with pytest.raises(BadAlert, match="at most 1000"):
        weather_report({"status": "ok", "locations": [{"location": "x"}] * 1001}, "t")


@pytest.mark.parametrize(("location", "code"), [
    ("Paris,FR", "FR"), ("Paris, fr", "FR"), ("Springfield,IL,US", "US"), ("Paris", None),
    ("Campus, parking B", None), ("Paris,FRA", None), ("Paris,F1", None),
])
def test_a_location_names_its_country_by_a_two_letter_code(location, code):
    assert country(location) == code


@pytest.mark.parametrize(("alert", "cp", "applies"), [
    ("Paris,FR", "Paris,FR", True), ("Paris,FR", "paris, fr", True),
    ("Paris,FR", "Paris", True),  # a CP's location without a country cannot be told apart
    ("Paris,FR", "Paris,US", False), ("Paris,US", "Paris,FR", False),
    ("Paris", "Paris,US", True), ("Paris", "Paris", True), ("Paris,FR", "Lyon,FR", False),
    ("Springfield,IL,US", "Springfield,US", True), ("Springfield,US", "Springfield,MO,US", True),
])
def test_an_alert_applies_to_the_same_city_in_no_other_country(alert, cp, applies):
    assert matches(alert, cp) is applies


def test_alerts_for_one_city_in_two_countries_are_two_alerts():
    assert alert_key("Paris,FR") == alert_key("paris, fr") == "paris,FR"
    assert alert_key("Paris,US") != alert_key("Paris,FR")
    assert alert_key("Paris") == "paris"
