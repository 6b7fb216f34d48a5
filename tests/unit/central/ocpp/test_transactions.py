"""OCPP transactions -> sessions: repeated starts, remote starts, billing by the
messages' own register readings and timestamps, unknown stops recorded once."""

from decimal import Decimal

import pytest

from cloud.central.ocpp import transactions as t
from cloud.central.ocpp.core import BadOcpp, Sample

AT = "2026-11-30T10:00:00.000Z"
LATER = "2026-11-30T10:30:00.000Z"


def _start(id_tag="D1", meter_start=1000, at="2026-11-30T10:00:00Z"):
    return t.start_request(1, id_tag, meter_start, at)


def _transaction(**fields):
    transaction, new = t.start("CP1", _start(), None, "0.30", True, None, "S-NEW")
    assert new
    return t.Transaction(**{**transaction.__dict__, "transaction_id": 7, **fields})


def test_a_start_request_reads_numbers_as_strings_and_times_with_offsets():
    request = t.start_request("1", "D1", "1000.0", "2026-11-30T11:00:00+01:00")
    assert request == t.StartRequest(1, "D1", Decimal("1000.0"), AT)


@pytest.mark.parametrize("args, match", [
    ((0, "D1", 1, AT), "connectorId"), ((1.5, "D1", 1, AT), "connectorId"),
    ((1, "", 1, AT), "idTag"), ((1, "X" * 21, 1, AT), "idTag"), ((1, None, 1, AT), "idTag"),
    ((1, "D1", -1, AT), "never negative"), ((1, "D1", "x", AT), "meterStart"),
    ((1, "D1", 1, "noon"), "timestamp"),
])
def test_a_start_request_that_cannot_be_billed_is_refused(args, match):
    with pytest.raises(BadOcpp, match=match):
        t.start_request(*args)


def test_a_new_start_gets_its_own_session_and_the_driver_its_idtag_names():
    transaction, new = t.start("CP1", _start(), None, "0.30", True, None, "S-NEW")
    assert new and transaction.session_id == "S-NEW" and transaction.driver_id == "D1"
    assert (transaction.meter_start_wh, transaction.started_at) == (Decimal(1000), AT)
    unknown, _ = t.start("CP1", _start("CARD-9"), None, "0.30", False, None, "S-2")
    assert unknown.driver_id is None  # a card Central does not know: no driver


def test_a_remote_start_continues_the_authorization_of_its_driver_only():
    transaction, _ = t.start("CP1", _start(), None, "0.30", True, ("S-AUTH", "D1"), "S-NEW")
    assert transaction.session_id == "S-AUTH"
    other, _ = t.start("CP1", _start("D2"), None, "0.30", True, ("S-AUTH", "D1"), "S-NEW")
    assert other.session_id == "S-NEW"


def test_a_repeated_start_is_the_transaction_it_was_the_first_time():
    first = _transaction()
    assert first.key == t.start_key("CP1", _start(meter_start="1000.00"))
    again, new = t.start("CP1", _start(), first, "0.99", True, None, "S-OTHER")
    assert (again, new) == (first, False)


def test_the_energy_is_stop_minus_start_in_wh_billed_at_the_sessions_price():
    request = t.stop_request(7, "6000", LATER, "EVDisconnected")
    record = t.ending("CP1", request, _transaction(), "0.99", True)
    assert (record.kwh, record.eur, record.price_eur_kwh) == ("5.000", "1.50", "0.30")
    assert (record.started_at, record.ended_at) == (AT, LATER)  # their own times
    assert (record.session_id, record.driver_id, record.reason) == ("S-NEW", "D1", "unplugged")


def test_a_remote_stop_says_why_central_asked_and_a_register_gone_back_bills_nothing():
    request = t.stop_request(7, 500, LATER, "Remote")
    record = t.ending("CP1", request, _transaction(), "0.30", True, "driver stop")
    assert (record.kwh, record.eur, record.reason) == ("0.000", "0.00", "driver stop")
    assert t.ending("CP1", request, _transaction(), "0.30", True).reason == "stopped by Central"


def test_no_reason_is_local_and_an_unknown_reason_is_refused():
    assert t.stop_request(7, 1, LATER).reason == "Local"
    with pytest.raises(BadOcpp, match="reason"):
        t.stop_request(7, 1, LATER, "Bored")
    with pytest.raises(BadOcpp, match="transactionId"):
        t.stop_request(7.5, 1, LATER)


def test_an_unknown_stop_is_recorded_once_billed_from_its_first_meter_value():
    data = [{"timestamp": "2026-11-30T09:00:00Z", "sampled_value": [{"value": "2000"}]},
            {"timestamp": "2026-11-30T09:30:00Z", "sampled_value": [{"value": "4000"}]}]
    request = t.stop_request(99, 6000, LATER, None, "D1", data)
    assert request.first == Sample("2026-11-30T09:00:00.000Z", Decimal(2))
    record = t.ending("CP1", request, None, "0.30", True)
    assert (record.kwh, record.eur, record.driver_id) == ("4.000", "1.20", "D1")
    assert record.started_at == "2026-11-30T09:00:00.000Z"
    assert "unknown transaction 99" in record.reason
    assert record.session_id == t.ending("CP1", request, None, "0.30", True).session_id
    assert record.session_id != t.ending("CP2", request, None, "0.30", True).session_id


def test_an_unknown_stop_without_data_is_recorded_at_0_kwh_saying_why():
    record = t.ending("CP1", t.stop_request(99, 6000, LATER), None, "0.30", False)
    assert (record.kwh, record.eur, record.started_at) == ("0.000", "0.00", LATER)
    assert "no start reading" in record.reason and record.driver_id is None


def test_progress_is_kwh_since_the_start_by_the_register_and_the_chargers_kw():
    live = t.progress(_transaction(), Sample(LATER, Decimal("3.5"), Decimal("7.4")))
    assert (live.kwh, live.eur, live.kw, live.session_id) == ("2.500", "0.75", "7.400", "S-NEW")
    assert t.progress(_transaction(), Sample(LATER, Decimal("3.5"))).kw == "0.000"


def test_a_canonical_register_string():
    assert t.wh(Decimal("1000.0")) == t.wh(Decimal("1E+3")) == "1000"


def test_a_new_start_on_a_connector_ends_the_open_one_before_it_by_its_register():
    stale = _transaction(session_id="S-OLD")  # 1,000 Wh at 10:00, its stop never came
    other_connector = _transaction(transaction_id=8, connector_id=2, session_id="S-2")
    queued_later = _transaction(transaction_id=9, started_at="2026-11-30T12:00:00.000Z")
    new = _transaction(transaction_id=10, meter_start_wh=Decimal(4500), started_at=LATER,
                       session_id="S-NEW")
    [(ended, record)] = t.superseded([stale, other_connector, queued_later, new], new)
    assert ended == stale
    assert (record.session_id, record.started_at, record.ended_at, record.kwh, record.eur,
            record.driver_id) == ("S-OLD", AT, LATER, "3.500", "1.05", "D1")
    assert record.reason == ("ended by transaction 10 on connector 1 "
                             "(its StopTransaction never came)")
    assert t.superseded([_transaction(stopped_at=AT)], new) == []

