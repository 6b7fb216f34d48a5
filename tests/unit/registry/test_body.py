"""The registration body: location and price, and a CP id that must be the path's."""

from decimal import Decimal

import pytest

from cloud.registry.body import MAX_BODY, BadBody, Registration, check_cp_id, parse_registration


@pytest.mark.parametrize("raw, expected", [
    (b'{"location": "Madrid", "price_eur_kwh": 0.35}', Registration("Madrid", Decimal("0.35"))),
    (b'{"location": "Madrid", "price_eur_kwh": "0.35"}', Registration("Madrid", Decimal("0.35"))),
    (b'{"location": " Lugo ", "price_eur_kwh": 0}', Registration("Lugo", Decimal(0))),
    (b'{"cp_id": "CP1", "location": "Estaci\\u00f3n", "price_eur_kwh": 1}',
     Registration("Estaci\u00f3n", Decimal(1))),
    ('{"location": "Estación", "price_eur_kwh": "100"}'.encode(),
     Registration("Estación", Decimal(100))),
])
def test_a_good_body(raw, expected):
    assert parse_registration(raw, "CP1") == expected


@pytest.mark.parametrize("raw, status, reason", [
    (b"{oops", 400, "body is not valid JSON"),
    (b"", 400, "body is not valid JSON"),
    (b"\xff\xfe", 400, "body is not valid JSON"),
    (b'["Madrid", 0.3]', 400, "body must be a JSON object"),
    (b'{"location": "M", "price_eur_kwh": NaN}', 400, "body is not valid JSON"),
    (b'{"location": "M", "price_eur_kwh": 0.3, "secret": "x"}', 400, "unknown fields ['secret']"),
    (b'{"cp_id": "CP2", "location": "M", "price_eur_kwh": 0.3}', 400,
     "the CP id in the body ('CP2') differs from the path ('CP1')"),
    (b'{"cp_id": 7, "location": "M", "price_eur_kwh": 0.3}', 400, "differs from the path"),
    (b'{"price_eur_kwh": 0.3}', 400, "location must be text"),
    (b'{"location": "   ", "price_eur_kwh": 0.3}', 400, "location must be text"),
    (b'{"location": 5, "price_eur_kwh": 0.3}', 400, "location must be text"),
    (b'{"location": "a\\nb", "price_eur_kwh": 0.3}', 400, "control characters"),
    (b'{"location": "' + b"x" * 201 + b'", "price_eur_kwh": 0.3}', 400, "1 to 200 characters"),
    (b'{"location": "M"}', 400, "price_eur_kwh is missing"),
    (b'{"location": "M", "price_eur_kwh": null}', 400, "price_eur_kwh is missing"),
    (b'{"location": "M", "price_eur_kwh": true}', 400, "must be a number or a decimal string"),
    (b'{"location": "M", "price_eur_kwh": [1]}', 400, "must be a number or a decimal string"),
    (b'{"location": "M", "price_eur_kwh": "cheap"}', 400, "price must be a decimal number"),
    (b'{"location": "M", "price_eur_kwh": -0.1}', 400, "finite non-negative"),
    (b'{"location": "M", "price_eur_kwh": "Infinity"}', 400, "finite non-negative"),
    (b'{"location": "M", "price_eur_kwh": 35e9}', 400, "is above 100 EUR/kWh"),
    (b'{"location": "M", "price_eur_kwh": 0.0000001}', 400, "more than 6 decimal places"),
    (b" " * (MAX_BODY + 1), 413, "body too large"),
])
def test_a_bad_body_is_a_clear_4xx(raw, status, reason):
    with pytest.raises(BadBody) as caught:
        parse_registration(raw, "CP1")
    assert caught.value.status == status
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("cp_id", ["", "-CP", "CP 1", "CP/1", "x" * 65, "CP1\n"])
def test_a_bad_cp_id_in_the_path(cp_id):
    with pytest.raises(BadBody, match="bad CP id"):
        check_cp_id(cp_id)
    assert check_cp_id("CP-001.a_b") == "CP-001.a_b"
