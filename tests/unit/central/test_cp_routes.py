"""The CP server's routing tables: every message type a monitor can send Central, and
every event its link can report, has exactly one handler."""

from typing import get_args

from cloud.central.cp_connection import BEFORE_LOGIN, LINK_EVENTS
from cloud.central.cp_routes import FROM_CP
from protocol import messages as m
from protocol.link import LinkEvent

# What Central sends a monitor, and what only the engine and its monitor say to each other.
CENTRAL_SENDS = {m.Challenge, m.Welcome, m.Refused, m.Command, m.SupplyDenied, m.RecordAck,
                 m.KeyRevoked}
EDGE_ONLY = {m.HealthCheck, m.HealthReport, m.CentralStatus, m.PanelAction, m.PanelStatus,
             m.KeyIssued, m.MeterRequest, m.MeterReading}


def test_every_message_a_monitor_sends_central_has_a_handler():
    """A new type in protocol.messages fails here until it is routed or listed above."""
    from_monitor = set(m.MESSAGE_TYPES.values()) - CENTRAL_SENDS - EDGE_ONLY
    assert set(BEFORE_LOGIN) == {m.Hello, m.Authenticate}
    assert set(FROM_CP) == from_monitor - {m.Hello, m.Authenticate}


def test_every_link_event_has_a_handler():
    assert set(LINK_EVENTS) == set(get_args(LinkEvent))
