import os
from pathlib import Path

import pytest

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")


def _worker_port_range() -> None:
    """Each xdist worker picks free ports in a range of its own (sim.network.port_range),
    or both may pick the same free port at the same moment: one test's Central then
    finds its HTTP port taken by the other's server."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get(
        "PYTEST_XDIST_WORKER_COUNT")
    if worker and count and "EV_PORT_RANGE" not in os.environ:
        from sim.network import PORTS

        span = (PORTS[1] - PORTS[0]) // int(count)
        low = PORTS[0] + int(worker.removeprefix("gw")) * span
        os.environ["EV_PORT_RANGE"] = f"{low}-{low + span - 1}"


_worker_port_range()


# Test files that start ev-sim, whose demo takes the well-known ports (8000, 9092, 1883,
# 8443, 9000, ...) when they are free: on one xdist worker, one after another, or one
# would take a port that test_readme_demo needs free (and fail it under CI=true).
WELL_KNOWN_PORTS = frozenset(("tests/integration/test_sim.py",
                              "tests/integration/test_readme_demo.py"))


@pytest.hookimpl(optionalhook=True)  # pytest without xdist still runs the tests
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (make test), with the files in WELL_KNOWN_PORTS as one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "well-known ports" if path in WELL_KNOWN_PORTS else path

    return Scheduling(config, log)


@pytest.fixture(autouse=True)
def _root_log_handlers():
    """A test that runs a service's main() in-process gets its logs.setup(): a handler on
    the root logger writing to the stderr of that moment, pytest's capture of that test.
    Put the handlers back afterwards, or a later line from a thread (the audit writer's)
    goes to a closed capture ("--- Logging error ---")."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def output_dir(request) -> Path:
    """A folder under test-output/ kept after the run (logs, screenshots)."""
    path = Path(__file__).resolve().parent.parent / "test-output" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def brokers(tmp_path):
    """A fresh Tansu (Kafka) and Mosquitto on free loopback ports, for one test.

    Under CI=true a missing Mosquitto is a failure, never a silent skip (amqtt does not
    keep the delivery guarantees the tests prove)."""
    from sim import brokers as b
    from tests.support import free_port, missing

    if not b.have_mosquitto():
        missing("mosquitto is not installed (apt-get install mosquitto)")
    kafka = b.kafka_broker(tmp_path, free_port()).start()
    mqtt = b.mqtt_broker(tmp_path / "mqtt", free_port()).start()
    b.create_topics(kafka.address)
    yield kafka, mqtt
    mqtt.stop()
    kafka.stop()
