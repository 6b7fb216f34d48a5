"""The OCPP transactions of the engine's supplies: each once, register readings in Wh."""

from __future__ import annotations

from ocpp.v16 import call

from edge.monitor.ocpp_ledger import Ledger, Transaction, meter_value, wh
from protocol import messages as m

CP = "CP01"


def started(session, driver="DRV1"):
    return m.SupplyStarted(cp_id=CP, session_id=session, started_at="2026-03-01T12:00:00Z",
                           price_eur_kwh="0.30", driver_id=driver)


def ended(session, kwh, reason="unplugged", driver="DRV1"):
    return m.SupplyEnded(cp_id=CP, session_id=session, started_at="2026-03-01T12:00:00Z",
                         ended_at="2026-03-01T12:30:00Z", kwh=kwh, eur="0", price_eur_kwh="0",
                         reason=reason, driver_id=driver)


def test_wh_rounds_half_up_to_the_watt_hour():
    assert (wh("1.234"), wh("0.0005"), wh("0")) == (1234, 1, 0)


def test_the_register_grows_supply_after_supply():
    ledger = Ledger()
    ledger.record(started("S1"))
    [stop] = ledger.record(ended("S1", "2.5"))
    [start] = ledger.record(started("S2", driver=None))
    assert start.request.meter_start == 2500 and start.request.id_tag == m.AD_HOC
    [stop2] = ledger.record(ended("S2", "0.75", reason="stopped by the central system",
                                  driver=None))
    assert (stop.request.meter_stop, stop2.request.meter_stop) == (2500, 3250)
    assert stop2.request.reason == "Remote" and ledger.register_wh == 3250


def test_an_end_whose_start_was_never_seen_is_queued_with_its_start():
    ledger = Ledger(register_wh=100)
    start, stop = ledger.record(ended("S9", "1", reason="engine restarted"))
    assert isinstance(start.request, call.StartTransaction) and start.request.meter_start == 100
    assert stop.request.meter_stop == 1100 and stop.request.reason == "PowerLoss"
    assert stop.request.timestamp == "2026-03-01T12:30:00Z"


def test_an_id_tag_longer_than_ocpp_allows_is_cut_to_20_characters():
    [start] = Ledger().record(started("S1", driver="D" * 40))
    assert start.request.id_tag == "D" * 20


def test_an_unknown_reason_is_other():
    ledger = Ledger()
    ledger.record(started("S1"))
    [stop] = ledger.record(ended("S1", "1", reason="cosmic rays"))
    assert stop.request.reason == "Other" and ledger.supplies["S1"].ended


def test_outgoing_fills_the_transaction_id_once_known():
    ledger = Ledger()
    ledger.record(started("S1"))
    sample = ledger.meter_values("S1", [meter_value("2026-03-01T12:01:00Z", 0, 1, 7, "x")])
    assert ledger.outgoing(sample) is None
    ledger.started("S1", 77)
    assert ledger.outgoing(sample).transaction_id == 77


def test_a_transaction_survives_its_stored_form():
    ledger = Ledger()
    [start] = ledger.record(started("S1"))
    back = Transaction.load("S1", start.action, start.payload(), 3, 1)
    assert (back.request, back.seq, back.attempts) == (start.request, 3, 1)
