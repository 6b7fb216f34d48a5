"""The uplink's pure decisions: topic kinds, the in-flight window, outage log lines."""

import pytest

from edge.engine.publishing import Outage, Window, topic_kind
from protocol.data import ButtonPressed, CpStatus, StateChanged, Telemetry
from protocol.messages import SupplyEnded, SupplyStarted

TS = "2026-01-01T00:00:00Z"


def test_window_maps_mids_to_seqs_and_bounds_what_is_in_flight():
    window = Window(size=3)
    for seq, mid in [(10, 1), (11, 2), (12, 3)]:
        window.sent(seq, mid)
    assert (window.free, window.after) == (0, 12)
    assert window.acked(2, ok=True) == 11
    assert window.free == 1
    assert window.acked(2, ok=True) is None  # a second PUBACK for the same mid
    assert window.acked(99, ok=True) is None  # not ours (a status, or an old session's)
    assert window.acked(1, ok=False) is None  # refused: the row stays
    assert window.free == 2


def test_window_reset_republishes_from_the_oldest_row():
    window = Window(size=2)
    window.sent(5, 1)
    window.sent(6, 2)
    window.reset()
    assert (window.free, window.after, window.inflight) == (2, 0, {})


def test_outage_is_logged_once_and_the_recovery_says_how_long():
    outage = Outage("127.0.0.1:1883")
    assert outage.lost(0.0, "connection failed") == (
        "cannot reach MQTT broker at 127.0.0.1:1883, retrying (connection failed)")
    assert outage.lost(0.5, "connection failed") is None
    assert outage.connected(1.0, 3) == "MQTT uplink connected to 127.0.0.1:1883 (outbox 3 rows)"
    assert outage.lost(10.0, "link lost") is not None
    assert outage.lost(11.0, "connection failed") is None
    assert outage.connected(14.5, 7) == ("MQTT uplink back on 127.0.0.1:1883 after 4.5 s "
                                         "(outbox 7 rows)")


@pytest.mark.parametrize("message, kind", [
    (StateChanged(cp_id="CP1", state="available", health="OK"), "events"),
    (ButtonPressed(cp_id="CP1", button="plug"), "events"),
    (SupplyStarted(cp_id="CP1", session_id="S", started_at=TS, price_eur_kwh="0.3"), "events"),
    (SupplyEnded(cp_id="CP1", session_id="S", started_at=TS, ended_at=TS, kwh="1", eur="0.3",
                 price_eur_kwh="0.3", reason="unplugged"), "events"),
    (Telemetry(cp_id="CP1", session_id="S", kw="7.4", kwh="0.1", eur="0.03",
               price_eur_kwh="0.3"), "telemetry"),
    (CpStatus(cp_id="CP1", status="online"), "status"),
])
def test_each_message_has_its_topic_kind(message, kind):
    assert topic_kind(message) == kind
