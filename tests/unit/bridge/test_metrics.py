from bridge.metrics import render, summary

SNAP = {"relayed_total": 5, "deadlettered_total": 1, "retried_total": 0, "in_flight": 2,
        "kafka_up": 1}


def test_prometheus_text():
    text = render(SNAP)
    assert "# TYPE evbridge_relayed_total counter\nevbridge_relayed_total 5\n" in text
    assert "evbridge_kafka_up 1\n" in text


def test_summary_line():
    assert summary(SNAP) == "relayed 5, dead-lettered 1, retried 0, in flight 2, Kafka up"
