"""OpenWeather's answers parsed, its errors named, the key redacted; the sim file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cloud.weather.core import (
    BAD_ANSWER,
    BAD_KEY,
    NO_KEY,
    RATE_LIMITED,
    UNKNOWN_CITY,
    UNREACHABLE,
    Failure,
    Reading,
)
from cloud.weather.providers import (
    SIM_DEFAULT_C,
    OpenWeather,
    SimProvider,
    parse_openweather,
    read_sim_file,
    redact,
    set_sim_temperature,
)
from tests.support import free_port

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
MADRID = json.dumps({"coord": {"lon": -3.7, "lat": 40.4}, "weather": [{"id": 800}],
                     "main": {"temp": -3.2, "feels_like": -6.1, "pressure": 1021},
                     "name": "Madrid", "cod": 200}).encode()


def test_a_good_answer_reads_main_temp():
    assert parse_openweather("Madrid", 200, MADRID, NOW) == Reading("Madrid", Decimal("-3.2"),
                                                                    NOW)


@pytest.mark.parametrize("temp, text", [(14, "14"), (10.0, "10"), (-0.004, "0"),
                                        (3.456, "3.46"), ("7.5", "7.5")])
def test_temperatures_are_decimals_as_people_write_them(temp, text):
    body = json.dumps({"main": {"temp": temp}}).encode()
    assert str(parse_openweather("X", 200, body, NOW).temperature_c) == text


@pytest.mark.parametrize("status, body, kind", [
    (401, b'{"cod":401,"message":"Invalid API key. Please see https://openweathermap.org"}',
     BAD_KEY),
    (404, b'{"cod":"404","message":"city not found"}', UNKNOWN_CITY),
    (429, b'{"cod":429,"message":"limit"}', RATE_LIMITED),
    (500, b"oops", BAD_ANSWER),
    (200, b"<html>", BAD_ANSWER),
    (200, b'{"main": {}}', BAD_ANSWER),
    (200, b'{"main": {"temp": "warm"}}', BAD_ANSWER),
    (200, b'{"main": {"temp": true}}', BAD_ANSWER),
    (200, b'{"main": {"temp": 1e999}}', BAD_ANSWER),
    (200, b'{"main": {"temp": 400}}', BAD_ANSWER),
    (200, b'[1, 2]', BAD_ANSWER),
    (200, b'\xff\xfe', BAD_ANSWER),
])
def test_errors_are_failures_of_their_kind(status, body, kind):
    outcome = parse_openweather("Atlantis", status, body, NOW)
    assert isinstance(outcome, Failure) and outcome.kind == kind


def test_redact_hides_the_key():
    url = "http://h/data/2.5/weather?q=Madrid&appid=s3cr3t&units=metric"
    assert redact(url) == "http://h/data/2.5/weather?q=Madrid&appid=***&units=metric"
    assert "s3cr3t" not in redact("error for 'APPID=s3cr3t'")


def test_openweather_without_a_key_asks_nothing():
    assert OpenWeather(None, "http://127.0.0.1:9").read("Oslo", NOW) == Failure("Oslo", NO_KEY)


def test_openweather_unreachable_is_a_failure_without_the_key():
    outcome = OpenWeather("s3cr3t", f"http://127.0.0.1:{free_port()}", 1).read("Oslo", NOW)
    assert outcome.kind == UNREACHABLE and "s3cr3t" not in outcome.detail


def test_the_sim_file(tmp_path):
    path = tmp_path / "sim.json"
    provider = SimProvider(path)
    assert provider.read("Madrid", NOW) == Reading("Madrid", SIM_DEFAULT_C, NOW)  # no file
    assert set_sim_temperature(path, "Madrid", "-3") == Decimal("-3")
    set_sim_temperature(path, "Oslo", "2.50")
    assert read_sim_file(path) == {"Madrid": Decimal("-3"), "Oslo": Decimal("2.5")}
    assert provider.read("Madrid", NOW).temperature_c == Decimal("-3")
    assert provider.read("Lisbon", NOW).temperature_c == SIM_DEFAULT_C
    assert [p.name for p in tmp_path.iterdir()] == ["sim.json"]  # no temporary left


@pytest.mark.parametrize("text", ["cold", "nan", "inf", "500", ""])
def test_set_refuses_what_is_not_a_temperature(tmp_path, text):
    with pytest.raises(ValueError, match="not a temperature"):
        set_sim_temperature(tmp_path / "sim.json", "Madrid", text)
    assert not (tmp_path / "sim.json").exists()


@pytest.mark.parametrize("content", ["{", "[]", '{"Madrid": "icy"}'])
def test_a_bad_sim_file_is_a_bad_answer_not_a_crash(tmp_path, content):
    path = tmp_path / "sim.json"
    path.write_text(content)
    outcome = SimProvider(path).read("Madrid", NOW)
    assert isinstance(outcome, Failure) and outcome.kind == BAD_ANSWER
