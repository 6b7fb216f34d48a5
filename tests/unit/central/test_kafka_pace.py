"""Kafka's thread rests after a backlog's batch and lets records gather under load."""

import pytest

from cloud.central.kafka_pace import BACKLOG_REST, BATCH, GATHER, rest_after


def test_kafka_rests_after_a_full_batch_and_lets_records_gather_under_load():
    assert rest_after(1, 0.001) == rest_after(0, 0.0) == 0.0  # light traffic: no rest
    assert rest_after(BATCH - 1, 0.040) == GATHER  # steady load: the next batch gathers
    assert 0 < GATHER <= 0.05  # ... for a moment: 50 ms at most
    assert rest_after(BATCH, 0.040) == pytest.approx(0.040 * BACKLOG_REST)
    assert 0 < BACKLOG_REST <= 1  # a backlog still drains faster than it comes
