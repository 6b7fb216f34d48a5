"""Central's Kafka adapter, its intake and its records (`kafka_io`, `kafka_intake`,
`kafka_records`) without a broker: decoding, dead letters, idempotent handling.

Records are fakes with confluent-kafka's accessors; a CP's record is sealed under its
key, as the engine publishes it; the producer is a fake that keeps what was sent.  The
loop against a real broker is tests/integration/test_central_kafka.py.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from cloud.central import kafka_intake
from cloud.central.fleet import Fleet
from cloud.central.kafka_io import KafkaIO
from cloud.central.kafka_records import (
    KeyProblem,
    bridge_deadletter,
    deadletter_record,
    decode_record,
)
from cloud.central.store import Store
from protocol import data, seal
from protocol import driver as d
from protocol import messages as m
from protocol.errors import ProtocolError
from protocol.topics import (
    CP_EVENTS,
    CP_TELEMETRY,
    DEADLETTER,
    DRIVER_REQUESTS,
    DRIVER_UPDATES,
    KAFKA_TOPICS,
)
from tests.support import in_clear, tampered, wait_for
from tests.unit.central.conftest import Site

T0 = "2026-01-02T10:00:00.000Z"


class Record:
    def __init__(self, topic: str, value: bytes | None, key: bytes | None = None,
                 offset: int = 0) -> None:
        self._topic, self._value, self._key, self._offset = topic, value, key, offset

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def error(self):
        return None


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object, bytes]] = []

    def produce(self, topic, key, value, on_delivery) -> None:
        self.sent.append((topic, key, value))

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 0.0) -> int:
        return 0

    def on(self, topic: str) -> list[bytes]:
        return [value for t, _, value in self.sent if t == topic]


TELEMETRY = data.Telemetry(cp_id="CP1", session_id="S1", kw="7", kwh="1", eur="0.3",
                           price_eur_kwh="0.3")
STARTED = m.SupplyStarted(cp_id="CP1", session_id="S1", started_at=T0, price_eur_kwh="0.3")
REQUEST = d.ListRequest(driver_id="D1")
KEY = seal.Key("k-000000000001", bytes(range(32)))


def sealed(message: m.Message, key: seal.Key = KEY, cp_id: str | None = None) -> bytes:
    """``message`` as its engine publishes it: sealed under its CP's key."""
    return seal.seal(key, cp_id or message.cp_id, message.TYPE, message.id, m.encode(message),
                     seal.new_nonce())


class Keys:
    """CP1's key is KEY, its current one; what Central's keys would answer."""

    def for_data(self, cp_id: str, key_id: str) -> seal.Key | None:
        return KEY if (cp_id, key_id) == ("CP1", KEY.key_id) else None


keys = Keys()


@pytest.mark.parametrize(("topic", "key", "message"), [
    (CP_TELEMETRY, b"CP1", TELEMETRY),
    (CP_EVENTS, b"CP1", STARTED),
    (CP_EVENTS, None, data.CpStatus(cp_id="CP1", status="offline")),
    (CP_EVENTS, b"CP1", data.StateChanged(cp_id="CP1", state="available", health="OK")),
    (DRIVER_REQUESTS, b"D1", REQUEST),
])
def test_records_decode(topic, key, message):
    value = m.encode(message) if topic == DRIVER_REQUESTS else sealed(message)
    assert decode_record(topic, key, value, keys) == message


@pytest.mark.parametrize(("topic", "key", "value", "reason"), [
    (CP_EVENTS, b"CP1", None, "empty record"),
    (CP_EVENTS, b"CP1", b"\xff{", "invalid JSON"),
    (CP_EVENTS, b"CP1", b"[1]", "Expected `object`, got `array`"),
    (CP_EVENTS, b"CP1", sealed(TELEMETRY), "does not belong on events"),
    (CP_TELEMETRY, b"CP1", sealed(STARTED), "does not belong on telemetry"),
    (CP_EVENTS, b"CP2", sealed(STARTED), "sealed by 'CP1', not by 'CP2'"),
    (CP_EVENTS, b"CP1", sealed(m.Heartbeat(cp_id="CP1", engine="OK")), "unknown message"),
    (DRIVER_REQUESTS, b"D1", b'{"type": "charge_request", "driver_id": "D1"}',
     "missing field 'cp_id'"),
    (DRIVER_REQUESTS, b"D2", m.encode(REQUEST), "does not match 'D1'"),
    (DRIVER_REQUESTS, b"D1", m.encode(STARTED), "unknown message type"),
])
def test_malformed_records_are_refused_with_a_reason(topic, key, value, reason):
    with pytest.raises(ProtocolError, match=reason):
        decode_record(topic, key, value, keys)


OTHER = seal.Key("k-0000000000cc", bytes(32))


@pytest.mark.parametrize(("value", "reason"), [
    (m.encode(STARTED), "not a sealed envelope: Object contains unknown field"),
    (tampered(sealed(STARTED)), "does not open: tampered"),
    (sealed(STARTED, OTHER), "key 'k-0000000000cc' is not a key of 'CP1'"),
    (sealed(STARTED, seal.Key(KEY.key_id, bytes(32))), "does not open"),
    (sealed(m.SupplyStarted(**{**vars(STARTED), "cp_id": "CP2"}), KEY), "not a key of 'CP2'"),
    (seal.seal(KEY, "CP1", STARTED.TYPE, m.new_id(), m.encode(STARTED), seal.new_nonce()),
     "does not match its envelope"),
])
def test_a_record_that_does_not_open_is_a_key_problem_of_its_cp(value, reason):
    with pytest.raises(KeyProblem, match=reason) as refused:
        decode_record(CP_EVENTS, b"CP1" if b"CP2" not in value else None, value, keys)
    assert refused.value.cp_id == ("CP2" if "CP2" in reason else "CP1")
    assert not any(text in str(refused.value) for text in in_clear(KEY.secret))


def test_a_dead_letter_names_the_record_and_the_reason():
    letter = json.loads(deadletter_record(Record(CP_EVENTS, b"\xffbad", b"CP1", 7), "why"))
    assert {k: letter[k] for k in ("reason", "topic", "partition", "offset", "key")} == {
        "reason": "why", "topic": CP_EVENTS, "partition": 0, "offset": 7, "key": "CP1"}
    assert letter["payload"].endswith("bad") and letter["by"] == "central"


@pytest.fixture
def io(tmp_path):
    store = Store(str(tmp_path / "central.db"))
    store.add_cp("CP1", "Calle Mayor 1", "0.30")
    store.add_driver("D1")
    store.add_cp("CP2", "Calle Mayor 2", "0.30")
    fleet = Fleet(store)
    io = KafkaIO(fleet, "127.0.0.1:1", producer=FakeProducer(), admin=object())
    io.keys = {}
    for cp_id in ("CP1", "CP2"):
        io.keys[cp_id] = fleet.login(cp_id, "127.0.0.1:50000").key
        Site(fleet).connect(cp_id)
    yield io
    store.close()


def cp_record(io, topic: str, message: m.Message, offset: int = 0, key=None) -> Record:
    """``message`` through the bridge: sealed under its CP's current key."""
    return Record(topic, sealed(message, key or io.keys[message.cp_id]),
                  message.cp_id.encode(), offset)


def handle(io, record: Record) -> None:
    """``record`` taken by the intake as Central takes a batch of one."""
    list(io.intake.handle_batch([record]))


def test_records_are_handled_once_by_id(io):
    for offset in range(2):
        handle(io, Record(DRIVER_REQUESTS, m.encode(REQUEST), b"D1", offset))
    [update] = io.producer.on(DRIVER_UPDATES)
    assert d.decode_update(update).ref == REQUEST.id
    assert io.fleet.metrics()["driver_requests_total"] == 2


def test_supply_records_and_telemetry_reach_the_fleet(io):
    for topic, message in ((CP_EVENTS, STARTED), (CP_TELEMETRY, TELEMETRY)):
        handle(io, cp_record(io, topic, message))
    view = io.fleet.cp("CP1")
    assert (view["state"], view["kwh"]) == ("SUPPLYING", "1")
    metrics = io.fleet.metrics()
    assert (metrics["events_consumed_total"], metrics["telemetry_consumed_total"]) == (1, 1)


@pytest.mark.parametrize(("topic", "value", "reason"), [
    (DRIVER_REQUESTS, b"nonsense", "invalid JSON"),
    (CP_EVENTS, sealed(m.SupplyStarted(cp_id="CP7", session_id="S1", started_at=T0,
                                       price_eur_kwh="0.3")), "not a key of 'CP7'"),
])
def test_what_central_cannot_take_is_dead_lettered(io, topic, value, reason):
    handle(io, Record(topic, value))
    [letter] = io.producer.on(DEADLETTER)
    assert reason in json.loads(letter)["reason"]
    assert io.fleet.metrics()["deadlettered_total"] == 1


@pytest.mark.parametrize(("topic", "key", "value", "actor", "cp_id"), [
    (DRIVER_REQUESTS, b"D1", lambda io: b"nonsense", "driver", None),
    (CP_TELEMETRY, b"CP1", lambda io: sealed(STARTED, io.keys["CP1"]), "cp", "CP1"),
])
def test_refused_input_is_audited_with_where_it_was(io, topic, key, value, actor, cp_id):
    handle(io, Record(topic, value(io), key, 41))
    [row] = audit(io, "refused input")
    assert (row["actor"], row["cp_id"], row["source"], row["outcome"]) == (
        actor, cp_id, f"kafka {topic}[0]@41", "refused")
    assert row["params"]["reason"] == json.loads(io.producer.on(DEADLETTER)[0])["reason"]


def audit(io, action: str) -> list[dict]:
    return io.fleet.store.audit_log(action=action)


@pytest.mark.parametrize("attack", ["tampered", "another CP's key", "revoked key"])
def test_a_record_that_does_not_open_is_dead_lettered_audited_and_shown(io, attack):
    message = STARTED
    if attack == "tampered":
        record = cp_record(io, CP_EVENTS, message)
        record._value = tampered(record._value)
    elif attack == "another CP's key":
        record = cp_record(io, CP_EVENTS, message, key=io.keys["CP2"])
    else:
        record = cp_record(io, CP_EVENTS, message)
        io.fleet.revoke_key("CP1", actor="admin@127.0.0.1")
    handle(io, record)
    [letter] = io.producer.on(DEADLETTER)
    [row] = audit(io, "key mismatch")
    assert row["cp_id"] == "CP1" and row["outcome"] == "refused"
    assert row["params"]["plane"] == "data" and row["params"]["reason"] == json.loads(
        letter)["reason"]
    view = io.fleet.cp("CP1")
    assert view["key_problems"] == 1 and view["session_id"] is None  # nothing applied
    assert io.fleet.metrics()["key_mismatches_total"] == 1
    for key in io.keys.values():  # never a key in the trail or the dead letter
        for text in (json.dumps(row), letter.decode()):
            assert not any(secret in text for secret in in_clear(key.secret))
    handle(io, cp_record(io, CP_EVENTS, m.SupplyStarted(**{**vars(STARTED), "cp_id": "CP2"})))
    assert io.fleet.cp("CP2")["state"] == "SUPPLYING"  # other CPs unaffected


def test_a_replayed_record_is_refused_and_audited_once_applied(io):
    record = cp_record(io, CP_EVENTS, STARTED)
    handle(io, record)
    handle(io, Record(CP_EVENTS, record.value(), b"CP1", 1))
    [letter] = io.producer.on(DEADLETTER)
    assert json.loads(letter)["reason"].startswith("replayed: supply_started")
    [row] = audit(io, "replayed")
    assert (row["cp_id"], row["params"]) == ("CP1", {"type": "supply_started", "id": STARTED.id})


class BatchConsumer:
    """A consumer with one batch to give, which remembers what was committed."""

    def __init__(self, records: list[Record]) -> None:
        self.records, self.committed = records, []

    def poll(self, timeout: float):
        return self.records[0]

    def consume(self, count: int, timeout: float) -> list[Record]:
        return self.records[1:count + 1]

    def commit(self, offsets, asynchronous: bool) -> None:
        self.committed += [(o.topic, o.partition, o.offset) for o in offsets]

    def close(self) -> None:
        pass


def test_a_batch_is_handled_in_order_and_committed(io):
    """A replay and a malformed record in the same batch are dead-lettered in order;
    each partition's offset after its last record is committed."""
    started = cp_record(io, CP_EVENTS, STARTED, offset=0)
    io._consumer = consumer = BatchConsumer([
        started, Record(CP_EVENTS, started.value(), b"CP1", 1),
        Record(CP_EVENTS, b"\xff{", b"CP1", 2),
        cp_record(io, CP_TELEMETRY, TELEMETRY, offset=0)])
    io._consume()
    assert io.fleet.cp("CP1")["state"] == "SUPPLYING" and io.fleet.cp("CP1")["kwh"] == "1"
    assert [json.loads(letter)["reason"].split(":")[0]
            for letter in io.producer.on(DEADLETTER)] == ["replayed", "not a sealed envelope"]
    assert sorted(consumer.committed) == [(CP_EVENTS, 0, 3), (CP_TELEMETRY, 0, 1)]
    assert 0 < io.fleet.metrics()["kafka_handling_cpu_seconds_total"] < 1


def test_a_batch_is_opened_a_chunk_at_a_time_then_handled(io, monkeypatch):
    """Opened together, a chunk's records cost Kafka's thread less (kafka_intake.CHUNK)."""
    steps = []
    decode = kafka_intake.decode_record
    monkeypatch.setattr(kafka_intake, "decode_record",
                        lambda *args: steps.append("open") or decode(*args))
    dispatch = io.intake._dispatch
    monkeypatch.setattr(io.intake, "_dispatch",
                        lambda message: steps.append("handle") or dispatch(message))
    monkeypatch.setattr(kafka_intake, "CHUNK", 2)
    io._consumer = BatchConsumer([
        cp_record(io, CP_EVENTS, STARTED, offset=0),
        cp_record(io, CP_TELEMETRY, TELEMETRY, offset=0),
        Record(DRIVER_REQUESTS, m.encode(REQUEST), b"D1", 0)])
    io._consume()
    assert steps == ["open", "open", "handle", "handle", "open", "handle"]
    assert io.fleet.cp("CP1")["kwh"] == "1" and io.producer.on(DRIVER_UPDATES)


def test_a_record_failing_mid_batch_commits_what_came_before(io, monkeypatch):
    def broken(request):
        raise OSError("disk full")

    monkeypatch.setattr(io.intake.desk, "handle", broken)
    io._consumer = consumer = BatchConsumer([
        cp_record(io, CP_EVENTS, STARTED, offset=0),
        Record(DRIVER_REQUESTS, m.encode(REQUEST), b"D1", 0),
        cp_record(io, CP_TELEMETRY, TELEMETRY, offset=0)])
    io._consume()
    assert consumer.committed == [(CP_EVENTS, 0, 1)]  # the rest is read again
    assert io._consumer is None and io.fleet.cp("CP1")["kwh"] is None


def test_a_retained_status_delivered_again_is_no_replay(io):
    record = cp_record(io, CP_EVENTS, data.CpStatus(cp_id="CP1", status="online"))
    for offset in range(2):  # MQTT delivers a retained message at each subscription
        handle(io, Record(CP_EVENTS, record.value(), b"CP1", offset))
    assert io.producer.on(DEADLETTER) == [] and audit(io, "replayed") == []


def test_a_record_sealed_before_the_last_login_opens_within_its_grace(io):
    earlier = io.keys["CP1"]
    io.keys["CP1"] = io.fleet.login("CP1", "127.0.0.1:50001").key
    handle(io, cp_record(io, CP_EVENTS, STARTED, key=earlier))
    assert io.fleet.cp("CP1")["state"] == "SUPPLYING"
    assert io.producer.on(DEADLETTER) == []


def test_a_failing_record_is_read_again_then_dead_lettered(io, monkeypatch):
    def broken(request):
        raise OSError("disk full")

    monkeypatch.setattr(io.intake.desk, "handle", broken)
    record = Record(DRIVER_REQUESTS, m.encode(REQUEST), b"D1", 5)
    for _ in range(kafka_intake.TRIES - 1):
        with pytest.raises(kafka_intake.Reread):
            handle(io, record)
    handle(io, record)
    [letter] = io.producer.on(DEADLETTER)
    assert "disk full" in json.loads(letter)["reason"]
    [row] = audit(io, "error")
    assert (row["actor"], row["source"], row["outcome"]) == (
        "service", f"kafka {DRIVER_REQUESTS}[0]@5", "failed")
    assert "disk full" in row["params"]["what"]


class Metadata:
    def __init__(self, topics) -> None:
        self.topics = dict.fromkeys(topics)


class Done:
    def result(self, timeout=None):
        return None


class FakeAdmin:
    """A broker that is down, or up with some topics (and creates the missing ones)."""

    def __init__(self) -> None:
        self.topics: set[str] | None = None  # None: unreachable
        self.created: list[str] = []

    def list_topics(self, timeout=None):
        if self.topics is None:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        return Metadata(self.topics)

    def create_topics(self, new_topics, **_options):
        names = [topic.topic for topic in new_topics]
        self.created += names
        self.topics |= set(names)
        return {name: Done() for name in names}


def test_an_outage_and_a_broker_that_forgot_everything(io):
    io.admin = admin = FakeAdmin()
    io._probe()
    assert io.fleet.kafka()["up"] is False and io.fleet.metrics()["kafka_up"] == 0
    io._probe()  # still down: said once
    texts = [x["text"] for x in io.fleet.messages()]
    assert texts.count("cannot reach Kafka at 127.0.0.1:1, retrying") == 1
    admin.topics = set()
    io._consumer = consumer = FakeConsumer()
    io._probe()
    assert sorted(admin.created) == sorted(KAFKA_TOPICS)
    # rebuilt, and dropped without close(): after an outage close() can hang in
    # librdkafka's rebalance callback with the GIL held (librdkafka #4041)
    assert io._consumer is None and not consumer.closed
    assert io.fleet.kafka()["up"] is True


class FakeConsumer:
    closed = False

    def close(self) -> None:
        self.closed = True


class SlowConsumer(FakeConsumer):
    """One whose broker stops at the same moment: leaving the group takes long."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def close(self) -> None:
        self.release.wait(10)
        self.closed = True


def test_leaving_the_group_is_waited_for_half_a_second_at_most(io):
    io._consumer = consumer = SlowConsumer()
    started = time.monotonic()
    io._drop_consumer()
    assert time.monotonic() - started < 2 and io._consumer is None
    consumer.release.set()  # ... and the close finishes on its own
    wait_for(lambda: consumer.closed, 5)
    io._consumer = consumer = FakeConsumer()
    io._drop_consumer()
    assert consumer.closed  # a broker that answers: closed before it returns


def test_a_consumer_that_keeps_failing_is_rebuilt_and_shown(io):
    io.admin = FakeAdmin()
    io.admin.topics = set(KAFKA_TOPICS)
    io._probe()
    error = KafkaError(KafkaError._TRANSPORT)
    io._consumer = consumer = FakeConsumer()
    io._watch_errors([error], 100.0)
    io._watch_errors([error], 105.0)
    assert io.fleet.kafka()["up"] is True and not consumer.closed
    io._watch_errors([error], 110.5)
    assert io._consumer is None and not consumer.closed  # dropped, not closed
    assert io.fleet.kafka()["up"] is False
    io._watch_errors([], 115.0)
    assert io.fleet.kafka()["up"] is False  # well again, but not yet for long
    io._watch_errors([], 121.0)
    assert io.fleet.kafka()["up"] is True


def test_every_record_type_central_can_read_has_a_handler():
    """Every data-plane type (cp.events, cp.telemetry) and driver request type."""
    from cloud.central.kafka_records import FROM_KAFKA
    from protocol import data
    from protocol import driver as d

    assert set(FROM_KAFKA) == set(data.DATA_TYPES.values()) | set(d.REQUEST_TYPES.values())


def bridge_letter(reason: str, cp_id: str = "CP1") -> bytes:
    """A dead letter as the bridge writes it (bridge.route.dead_letter_record)."""
    return json.dumps({"reason": reason, "source": "mqtt", "payload": "{}",
                       "mqtt_topic": f"evcharging/cp/{cp_id}/events",
                       "ts": T0}).encode()


def test_what_the_bridge_dead_letters_is_counted_and_audited_once(io):
    for _ in range(2):  # the same position read again (after a restart before the commit)
        handle(io, Record(DEADLETTER, bridge_letter("payload is not JSON"), b"CP1", 5))
    [row] = audit(io, "refused input")
    assert (row["cp_id"], row["source"], row["params"]["reason"], row["outcome"]) == (
        "CP1", "bridge evcharging/cp/CP1/events", "payload is not JSON", "refused")
    assert io.fleet.metrics()["bridge_deadletters_total"] == 1
    assert io.producer.on(DEADLETTER) == []  # read, never written back


def test_centrals_own_dead_letters_are_not_counted_again(io):
    handle(io, Record(DRIVER_REQUESTS, b"nonsense", b"D1", 3))
    [letter] = io.producer.on(DEADLETTER)
    handle(io, Record(DEADLETTER, letter, b"D1", 0))
    assert len(audit(io, "refused input")) == 1
    assert io.fleet.metrics()["bridge_deadletters_total"] == 0


def test_an_unreadable_dead_letter_is_still_shown():
    assert bridge_deadletter(b"CP9", b"\xff").reason == "unreadable dead letter"
    assert bridge_deadletter(None, b'{"reason": 7}').reason == "no reason given"
