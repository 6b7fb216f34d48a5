"""Central's sender: what Kafka did not take is sent again; dead letters are flushed
before a commit."""

import logging

from cloud.central.kafka_out import SEND_TRIES, Sender
from protocol.topics import DEADLETTER, DRIVER_UPDATES


class Refusing:
    """A producer whose delivery report says 'not taken' for the first ``refusals``."""

    def __init__(self, refusals: int) -> None:
        self.refusals, self.produced, self.flushes = refusals, [], 0

    def produce(self, topic, key, value, on_delivery):
        self.produced.append((topic, key, value))
        error = Timeout() if len(self.produced) <= self.refusals else None
        on_delivery(error, None)

    def flush(self, timeout):
        self.flushes += 1


class Timeout:
    @staticmethod
    def str():
        return "Local: Message timed out"


def test_what_kafka_did_not_take_is_sent_again():
    producer = Refusing(refusals=2)
    sender = Sender(producer)
    sender.send(DRIVER_UPDATES, "D1", b"update")
    for _ in range(3):
        sender.resend_failed()
    assert producer.produced == [(DRIVER_UPDATES, "D1", b"update")] * 3


def test_it_gives_up_after_its_tries_with_one_line(caplog):
    producer = Refusing(refusals=100)
    sender = Sender(producer)
    sender.send(DRIVER_UPDATES, "D1", b"update")
    with caplog.at_level(logging.WARNING):
        for _ in range(SEND_TRIES + 2):
            sender.resend_failed()
    assert len(producer.produced) == SEND_TRIES
    assert [r.getMessage() for r in caplog.records] == [
        "gave up sending to driver.updates for D1: Local: Message timed out"]


def test_dead_letters_are_flushed_before_a_commit_and_only_then():
    producer = Refusing(refusals=0)
    sender = Sender(producer)
    sender.flush_dead_letters()
    sender.send(DRIVER_UPDATES, "D1", b"update")
    sender.flush_dead_letters()
    assert producer.flushes == 0
    sender.dead_letter(b"CP1", b"letter")
    sender.flush_dead_letters()
    sender.flush_dead_letters()
    assert producer.flushes == 1 and producer.produced[-1] == (DEADLETTER, b"CP1", b"letter")
