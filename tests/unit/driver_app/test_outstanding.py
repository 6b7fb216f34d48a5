"""Requests awaiting Central's answer: answered by ref, sent again with the same id."""

from __future__ import annotations

from driver_app.effects import Retrying, Send
from driver_app.outstanding import RETRY_S, OutstandingRequests, Purpose
from protocol import driver as d

ME = "D1"


def sent(purpose: Purpose = Purpose.CHARGE, at: float = 0) -> tuple:
    """Requests with one charge request sent at ``at``, and that request."""
    requests = OutstandingRequests()
    message = d.ChargeRequest(driver_id=ME, cp_id="MAD-01", id="r1")
    assert requests.add(message, purpose, at) == [Send(message)]
    return requests, message


def test_an_answer_ends_the_wait_once():
    requests, message = sent()
    assert message.id in requests and len(requests) == 1
    assert requests.answered(message.id).purpose is Purpose.CHARGE
    assert requests.answered(message.id) is None
    assert not requests


def test_delivered_but_unanswered_blames_central_and_sends_the_same_id_again():
    requests, message = sent()
    requests.delivered(message.id, True, 0.2)
    assert requests.due(RETRY_S - 0.1) == []
    assert requests.due(RETRY_S) == [Retrying("central"), Send(message, retry=True)]
    assert requests.due(RETRY_S + 1) == []  # the next retry is RETRY_S later
    assert requests.due(2 * RETRY_S) == [Retrying("kafka")]  # not delivered again yet


def test_undelivered_blames_kafka_and_waits_for_the_producer():
    requests, message = sent()
    assert requests.due(RETRY_S) == [Retrying("kafka")]  # still in the producer's queue
    assert requests.delivered(message.id, False, 31) == [Retrying("kafka"),
                                                         Send(message, retry=True)]
    assert requests.delivered("never-sent", False, 31) == []


def test_requests_are_found_and_dropped_by_purpose():
    requests, message = sent(Purpose.STOP)
    listing = d.ListRequest(driver_id=ME, id="r2")
    requests.add(listing, Purpose.LIST, 0)
    assert requests.of(Purpose.STOP).message == message and requests.of(Purpose.CHARGE) is None
    requests.drop(Purpose.STOP)
    assert [r.message for r in requests] == [listing]
