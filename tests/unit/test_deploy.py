"""The deployment files say what the code says."""

from pathlib import Path

from protocol.topics import KAFKA_TOPICS, PARTITIONS

ROOT = Path(__file__).resolve().parents[2]


def test_compose_creates_every_kafka_topic_with_our_partition_count():
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    line = next(x for x in compose.splitlines() if "for topic in" in x)
    assert line.split("in", 1)[1].split(";")[0].split() == list(KAFKA_TOPICS)
    assert f"--partitions {PARTITIONS}" in compose
