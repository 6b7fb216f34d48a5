"""The OCPP core: statuses -> engine health and state, meter values by unit, lenient
numbers and times where real chargers break the schema, strict elsewhere."""

from decimal import Decimal

import pytest

from cloud.central.ocpp import core
from cloud.central.ocpp.core import BadOcpp, Report
from protocol.states import EngineState, Health


@pytest.mark.parametrize("status, state", [
    ("Available", EngineState.AVAILABLE), ("Preparing", EngineState.AVAILABLE),
    ("Charging", EngineState.SUPPLYING), ("SuspendedEV", EngineState.SUPPLYING),
    ("SuspendedEVSE", EngineState.SUPPLYING), ("Finishing", EngineState.AVAILABLE),
    ("Reserved", EngineState.AVAILABLE), ("Unavailable", EngineState.STOPPED),
])
def test_each_status_of_connector_1_is_what_the_cp_is_doing(status, state):
    assert core.report({1: (status, "")}) == Report(Health.OK, state)


def test_a_fault_on_any_connector_breaks_the_cp_with_its_reason():
    statuses = {0: ("Available", ""), 1: ("Charging", ""), 2: ("Faulted", "GroundFailure")}
    assert core.report(statuses) == Report(Health.KO, EngineState.BROKEN, "GroundFailure")
    assert core.report({1: ("Faulted", "")}).reason == "Faulted"


def test_the_whole_charger_unavailable_stops_it_whatever_connector_1_says():
    assert core.report({0: ("Unavailable", ""), 1: ("Available", "")}).state == \
        EngineState.STOPPED


def test_connector_0_speaks_until_connector_1_has_and_no_status_is_healthy_unknown():
    assert core.report({0: ("Available", "")}).state == EngineState.AVAILABLE
    assert core.report({}) == Report(Health.OK, None)


def test_fault_text_leaves_out_no_error():
    assert core.fault_text("NoError") == ""
    assert core.fault_text("GroundFailure", "leak", "E42") == "GroundFailure: leak: E42"


@pytest.mark.parametrize("value, expected", [
    (1000, Decimal(1000)), ("1000", Decimal(1000)), (" 12.5 ", Decimal("12.5")),
    (1.5, Decimal("1.5")),
])
def test_numbers_as_json_numbers_or_strings(value, expected):
    assert core.number(value, "x") == expected


@pytest.mark.parametrize("value", [None, True, "ten", "NaN", "Infinity", [], {}])
def test_anything_else_is_not_a_number(value):
    with pytest.raises(BadOcpp, match="x must be"):
        core.number(value, "x")


@pytest.mark.parametrize("value, expected", [
    ("2026-11-30T10:00:00Z", "2026-11-30T10:00:00.000Z"),
    ("2026-11-30T11:00:00.5+01:00", "2026-11-30T10:00:00.500Z"),
    ("2026-11-30T10:00:00.123456Z", "2026-11-30T10:00:00.123Z"),
])
def test_times_in_any_iso_form_with_a_zone_become_utc_with_z(value, expected):
    assert core.utc(value, "t") == expected


@pytest.mark.parametrize("value", ["2026-11-30T10:00:00", "yesterday", 17, None])
def test_a_time_without_a_zone_or_not_a_time_is_refused(value):
    with pytest.raises(BadOcpp):
        core.utc(value, "t")


def _value(value, **fields):
    return {"timestamp": "2026-11-30T10:00:00Z", "sampled_value": [{"value": value, **fields}]}


@pytest.mark.parametrize("fields, kwh", [
    ({}, Decimal("12.345")),  # no measurand, no unit: the energy register in Wh
    ({"unit": "Wh"}, Decimal("12.345")),
    ({"unit": "kWh"}, Decimal("12345")),
    ({"measurand": "Energy.Active.Import.Register", "unit": "kWh"}, Decimal("12345")),
])
def test_the_energy_register_in_wh_unless_it_says_kwh(fields, kwh):
    assert core.sample(_value("12345", **fields)).register_kwh == kwh


def test_power_in_w_or_kw_and_other_measurands_phases_and_signed_data_skipped():
    reading = core.sample({"timestamp": "2026-11-30T10:00:00Z", "sampledValue": [
        {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "230", "measurand": "Voltage", "unit": "V"},
        {"value": "99", "measurand": "Energy.Active.Import.Register", "phase": "L1"},
        {"value": "abc", "format": "SignedData"},
        {"value": 5000},
    ]})
    assert (reading.kw, reading.register_kwh) == (Decimal("7.4"), Decimal(5))
    kw = core.sample(_value("11", measurand="Power.Active.Import", unit="kW")).kw
    assert kw == Decimal(11)


@pytest.mark.parametrize("meter_value, match", [
    (_value("1", unit="V"), "Energy.Active.Import.Register in 'V'"),
    ({"timestamp": "2026-11-30T10:00:00Z", "sampled_value": []}, "non-empty"),
    ({"sampled_value": [{"value": "1"}]}, "meterValue.timestamp"),
    (_value("lots"), "must be a number"),
])
def test_a_meter_value_that_cannot_be_read_is_refused(meter_value, match):
    with pytest.raises(BadOcpp, match=match):
        core.sample(meter_value)


def test_latest_is_the_newest_register_reading_by_its_own_timestamp():
    values = [
        {"timestamp": "2026-11-30T10:05:00Z", "sampled_value": [{"value": "3000"}]},
        {"timestamp": "2026-11-30T10:01:00Z", "sampled_value": [{"value": "1000"}]},
        {"timestamp": "2026-11-30T10:09:00Z", "sampled_value": [
            {"value": "5", "measurand": "Power.Active.Import"}]},
    ]
    assert core.latest(values).register_kwh == Decimal(3)
    assert core.latest(values[2:]) is None
    first, last = core.begin_and_end(values)
    assert (first.register_kwh, last.register_kwh) == (Decimal(1), Decimal(3))
    assert core.begin_and_end(None) == (None, None)
