from decimal import Decimal

import pytest

from edge.engine.meter import Meter, billed, energy_kwh

D = Decimal


@pytest.mark.parametrize("kw, seconds, kwh", [
    (D("7.4"), 3600, D("7.4")),
    (D("7.4"), 1, D("7.4") / 3600),
    (D("22"), 90, D("0.55")),
    (D("7.4"), 0, D(0)),
    (D("7.4"), -5, D(0)),
    (D("11"), 0.5, D("11") * D("0.5") / 3600),
])
def test_energy(kw, seconds, kwh):
    assert energy_kwh(kw, seconds) == kwh


@pytest.mark.parametrize("kwh, price, expected", [
    (D("1"), D("0.30"), (D("1.000"), D("0.30"))),
    (D("0.0005"), D("0.30"), (D("0.001"), D("0.00"))),
    (D("0.0004999"), D("1"), (D("0.000"), D("0.00"))),
    (D("7.4") / 3600 * 61, D("0.35"), (D("0.125"), D("0.04"))),
    (D("2.345"), D("0.50"), (D("2.345"), D("1.17"))),  # 1.1725 -> 1.17
    (D("2.35"), D("0.50"), (D("2.350"), D("1.18"))),  # 1.175 half up -> 1.18
])
def test_billed_rounds_in_one_place(kwh, price, expected):
    assert billed(kwh, price) == expected


def test_reading_is_consistent_with_price():
    reading = Meter(D("7.4")).read(600, D("0.40"))
    assert (reading.kw, reading.kwh, reading.eur) == (D("7.4"), D("1.233"), D("0.49"))
    assert reading.eur == (reading.kwh * D("0.40")).quantize(D("0.01"))


def test_a_faster_meter_bills_simulated_time_at_the_same_power():
    # the demo: 22 kW on a clock 60 times faster; 30 real seconds are half an hour
    reading = Meter(D("22"), speed=D("60")).read(30, D("0.35"))
    assert (reading.kw, reading.kwh, reading.eur) == (D("22"), D("11.000"), D("3.85"))
    assert Meter(D("22"), speed=D("60")).read(30, D("0.35")) == Meter(D("22")).read(
        1800, D("0.35"))
