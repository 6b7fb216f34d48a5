"""The state dir and whose state it is."""

import pytest

from driver_app.state import StateDir, describe, identifies, network_memory, same_network

HERE = "127.0.0.1:9092"
KAFKA_ID = "MkU3OEVBNTcwNTJENDM2Qk"  # what Apache Kafka reports: a base64 UUID


@pytest.mark.parametrize(("saved", "cluster_id", "bootstrap", "same"), [
    ({}, KAFKA_ID, HERE, True),  # nothing kept yet, or kept before network.json
    ({"cluster_id": KAFKA_ID, "bootstrap": HERE}, KAFKA_ID, HERE, True),
    ({"cluster_id": KAFKA_ID, "bootstrap": "kafka-2:9092"}, KAFKA_ID, HERE, True),
    ({"cluster_id": KAFKA_ID, "bootstrap": HERE}, "another-cluster", HERE, False),
    ({"cluster_id": KAFKA_ID, "bootstrap": HERE}, None, HERE, False),
    ({"cluster_id": None, "bootstrap": HERE}, KAFKA_ID, HERE, False),
    # no cluster id, or Tansu's default one: only the address can tell
    ({"cluster_id": None, "bootstrap": HERE}, None, HERE, True),
    ({"cluster_id": None, "bootstrap": HERE}, "", HERE, True),
    ({"cluster_id": None, "bootstrap": HERE}, None, "127.0.0.1:9093", False),
    ({"cluster_id": "tansu_cluster", "bootstrap": HERE}, "tansu_cluster", HERE, True),
    ({"cluster_id": "tansu_cluster", "bootstrap": HERE}, "tansu_cluster", "127.0.0.1:1", False),
])
def test_same_network(saved, cluster_id, bootstrap, same):
    assert same_network(saved, cluster_id, bootstrap) is same


def test_what_is_kept_and_said():
    assert network_memory("", HERE) == {"cluster_id": None, "bootstrap": HERE}
    assert describe(network_memory(KAFKA_ID, HERE)) == f"Kafka cluster {KAFKA_ID} at {HERE}"
    assert describe(network_memory(None, HERE)) == f"Kafka at {HERE} (no cluster id)"
    assert identifies(KAFKA_ID) and not identifies("tansu_cluster") and not identifies(None)


def test_saved_and_loaded(tmp_path):
    store = StateDir(tmp_path / "state")
    store.open()
    assert store.load("network") == {}
    store.save("network", network_memory(KAFKA_ID, HERE))
    assert StateDir(tmp_path / "state").load("network") == network_memory(KAFKA_ID, HERE)
    (tmp_path / "state" / "offsets.json").write_text("{not json")
    assert store.load("offsets") == {}
