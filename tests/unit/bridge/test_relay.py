"""The Kafka shell with a fake producer: acks follow delivery, failures are retried."""

from confluent_kafka import KafkaError

from bridge.relay import Relayer, retry_delay
from bridge.route import Relay


class FakeProducer:
    """Fails the first ``failures`` deliveries with ``error``, then confirms."""

    def __init__(self, failures: int = 0, error: int = KafkaError._MSG_TIMED_OUT) -> None:
        self.failures, self.error = failures, error
        self.produced: list[tuple] = []
        self.reports: list = []
        self.renewed: list[str] = []

    def renew(self, reason: str) -> None:
        self.renewed.append(reason)

    def produce(self, topic, key, value, on_delivery) -> None:
        self.produced.append((topic, key, value))
        error = None
        if self.failures:
            self.failures -= 1
            error = KafkaError(self.error)
        self.reports.append((on_delivery, error))

    def poll(self, timeout: float = 0.0) -> int:
        reports, self.reports = self.reports, []
        for callback, error in reports:
            callback(error, None)
        return len(reports)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


RECORD = Relay("cp.events", "CP1", b"{}")


def make(producer, live=lambda token: True, missing=lambda: None):
    acked, clock = [], Clock()
    relayer = Relayer("fake:9092", on_delivered=acked.append, is_live=live,
                      on_missing_topic=missing, producer=producer, clock=clock)
    return relayer, acked, clock


def test_acks_only_after_delivery():
    producer = FakeProducer()
    relayer, acked, _ = make(producer)
    relayer.submit(RECORD, "t1")
    assert acked == [] and relayer.counters.in_flight == 1
    producer.poll()
    relayer._confirm()
    assert acked == ["t1"]
    assert relayer.counters.snapshot()["relayed_total"] == 1
    assert relayer.counters.in_flight == 0


def test_failed_deliveries_are_retried_with_backoff_until_kafka_takes_them():
    producer = FakeProducer(failures=3)
    relayer, acked, clock = make(producer)
    relayer.submit(RECORD, "t1")
    for _ in range(3):
        producer.poll()
        relayer._retry_due()
        assert acked == []
        clock.now += retry_delay(10)
        relayer._retry_due()
    producer.poll()
    relayer._confirm()
    assert acked == ["t1"]
    assert len(producer.produced) == 4
    assert relayer.counters.retried == 3


def test_missing_topic_asks_for_topics():
    woken = []
    producer = FakeProducer(failures=1, error=KafkaError.UNKNOWN_TOPIC_OR_PART)
    relayer, _, _ = make(producer, missing=lambda: woken.append(1))
    relayer.submit(RECORD, "t1")
    producer.poll()
    assert woken == [1]


def test_records_of_a_lost_mqtt_session_are_dropped_not_acked():
    producer = FakeProducer(failures=1)
    relayer, acked, clock = make(producer, live=lambda token: False)
    relayer.submit(RECORD, "t1")
    producer.poll()
    clock.now += 10
    relayer._retry_due()
    assert acked == [] and relayer.counters.in_flight == 0
    assert len(producer.produced) == 1


def test_dead_letters_are_counted_apart():
    producer = FakeProducer()
    relayer, acked, _ = make(producer)
    relayer.submit(Relay("deadletter", None, b"{}"), "t1")
    producer.poll()
    relayer._confirm()
    assert relayer.counters.snapshot()["deadlettered_total"] == 1
    assert acked == ["t1"]


def test_retry_delay_doubles_up_to_a_cap():
    assert [retry_delay(n) for n in (1, 2, 3, 10)] == [0.2, 0.4, 0.8, 5.0]


def test_a_producer_that_confirms_nothing_while_kafka_answers_is_rebuilt():
    producer = FakeProducer()
    producer.poll = lambda timeout=0.0: 0  # reports never come
    relayer, _, clock = make(producer)
    relayer.counters.kafka_up = True
    relayer.submit(RECORD, "t1")
    clock.now += 4
    relayer._check_stall()
    assert not producer.renewed
    clock.now += 2
    relayer._check_stall()
    assert producer.renewed == ["nothing confirmed for 5 s"]
    relayer._retry_due()
    assert len(producer.produced) == 2  # the lost attempt is sent again
    assert relayer.counters.in_flight == 1
