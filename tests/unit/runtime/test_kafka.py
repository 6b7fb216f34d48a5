"""runtime.kafka helpers that need no broker."""

from confluent_kafka import KafkaError, KafkaException

from runtime.kafka import create_topics


class _Future:
    def __init__(self, error=None) -> None:
        self.error = error

    def result(self, timeout=None):
        if self.error is not None:
            raise KafkaException(KafkaError(self.error))


class _Admin:
    def __init__(self, errors: dict) -> None:
        self.errors, self.asked = errors, {}

    def create_topics(self, new_topics, **options):
        self.asked = {"topics": [(t.topic, t.num_partitions) for t in new_topics], **options}
        return {t.topic: _Future(self.errors.get(t.topic)) for t in new_topics}


def test_create_topics_returns_what_it_made_and_an_existing_topic_is_no_error(caplog):
    admin = _Admin({"b": KafkaError.TOPIC_ALREADY_EXISTS, "c": KafkaError.INVALID_CONFIG})
    assert create_topics(admin, ["a", "b", "c"], 3) == ["a"]
    assert admin.asked == {"topics": [("a", 3), ("b", 3), ("c", 3)], "operation_timeout": 0}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("cannot create Kafka topic c:")
